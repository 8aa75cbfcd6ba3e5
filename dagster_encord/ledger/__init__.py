"""ledger: the memory of the pipeline (SQLAlchemy Core; SQLite by default, PostgreSQL)."""

from dagster_encord.ledger.ledger import Ledger
from dagster_encord.ledger.models import (
    DiffSummary,
    FileRow,
    JobOutcome,
    LedgerCounts,
    PlannedChunk,
    PlanOutcome,
    StoredChunk,
)
from dagster_encord.ledger.planning import metadata_hash
from dagster_encord.ledger.results import PERMANENT_ERROR_CLASSES

__all__ = [
    "PERMANENT_ERROR_CLASSES",
    "DiffSummary",
    "FileRow",
    "JobOutcome",
    "Ledger",
    "LedgerCounts",
    "PlanOutcome",
    "PlannedChunk",
    "StoredChunk",
    "metadata_hash",
]
