"""ledger: the memory of the pipeline (SQLAlchemy Core; SQLite by default, PostgreSQL)."""

from dagster_encord.ledger.ledger import PERMANENT_ERROR_CLASSES, Ledger, metadata_hash
from dagster_encord.ledger.models import (
    DiffSummary,
    FileRow,
    JobOutcome,
    LedgerCounts,
    PlannedChunk,
    PlanOutcome,
    StoredChunk,
)

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
