"""ledger: the memory of the pipeline (SQLAlchemy Core; SQLite by default, PostgreSQL)."""

from dagster_encord.ledger.dataset_links import DatasetLinks
from dagster_encord.ledger.events import Deletion, EventDiff
from dagster_encord.ledger.export_states import ExportState, ExportStates
from dagster_encord.ledger.ledger import Ledger
from dagster_encord.ledger.models import (
    DatasetLink,
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
from dagster_encord.ledger.states import (
    IN_ENCORD_FILE_STATES,
    IN_FLIGHT_FILE_STATES,
    OPEN_CHUNK_STATES,
    PENDING_FILE_STATES,
    PLANNABLE_FILE_STATES,
    ChunkState,
    FileState,
    JobRecordState,
    LinkState,
)

__all__ = [
    "IN_ENCORD_FILE_STATES",
    "IN_FLIGHT_FILE_STATES",
    "OPEN_CHUNK_STATES",
    "PENDING_FILE_STATES",
    "PERMANENT_ERROR_CLASSES",
    "PLANNABLE_FILE_STATES",
    "ChunkState",
    "DatasetLink",
    "DatasetLinks",
    "Deletion",
    "DiffSummary",
    "EventDiff",
    "ExportState",
    "ExportStates",
    "FileRow",
    "FileState",
    "JobOutcome",
    "JobRecordState",
    "Ledger",
    "LedgerCounts",
    "LinkState",
    "PlanOutcome",
    "PlannedChunk",
    "StoredChunk",
    "metadata_hash",
]
