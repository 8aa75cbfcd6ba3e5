"""The ledger's SQLAlchemy Core tables (SQLite and PostgreSQL).

- `encord_files`: one row per (pipeline, key): the listing facts, state (`FileState`), the chunk
  and item it belongs to, attempts, error class and message, metadata hash.
- `encord_chunks`: one row per planned chunk: its manifest text and figures, state, upload job.
- `encord_jobs`: one row per upload job POSTed for a chunk (a chunk resubmitted after a crash
  can have several).
- `encord_dataset_links`: one row per (pipeline, key, dataset): the item linked, the data row
  it became, and the link's state (`LinkState`).
- `encord_exports`: one row per (pipeline, export): the label-export watermark, advanced only
  after the export's manifest is written.
- `encord_export_rows`: the rows a filtered export wrote, at the edit time listed.
- `encord_locks`: one row per pipeline; planners and ingests update it inside their transaction,
  which serialises them across processes (a row lock on PostgreSQL, the write lock on SQLite).

Timestamps are UTC epoch seconds (floats): cheap to compare in SQL and to bulk-load. States are
the enums of `states.py`, stored as their strings: `StateColumn` refuses any other value a
statement binds, and a CHECK constraint refuses it in tables created by this version.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect

from dagster_encord.ledger.states import ChunkState, FileState, JobRecordState, LinkState

State = TypeVar("State", bound=StrEnum)

metadata = MetaData()

# Keys sort by code point on every backend (SQLite's default BINARY; "C" on PostgreSQL), so the
# primary-key index serves the planner's key-ordered scan and chunk boundaries never depend on
# the database's locale.
KeyString = String(2048).with_variant(String(2048, collation="C"), "postgresql")


class StateColumn(TypeDecorator[State]):
    """A state column: stored as the member's string, read back as the member.

    Every state a statement binds is checked (an unknown one fails before the write with a
    ValueError naming it); the CHECK constraint of `_one_of` also covers raw SQL writes.
    """

    impl = String(20)
    cache_ok = True

    def __init__(self, states: type[State]) -> None:
        super().__init__()
        self.states = states
        # A dict lookup: calling the enum per row costs more than the row's fetch.
        self._members: dict[str, State] = {state.value: state for state in states}

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        try:
            return self.states(value).value
        except ValueError:
            allowed = ", ".join(self.states)
            raise ValueError(f"{value!r} is not a {self.states.__name__} ({allowed})") from None

    def process_result_value(self, value: str | None, dialect: Dialect) -> State | None:
        if value is None:
            return None
        member = self._members.get(value)
        return member if member is not None else self.states(value)


def _one_of(table: str, states: type[StrEnum]) -> CheckConstraint:
    """`state IN (...)`. Tables created before it keep their DDL (StateColumn still checks);
    a new member needs a migration of tables created with the older list."""
    allowed = ", ".join(f"'{state.value}'" for state in states)
    return CheckConstraint(f"state IN ({allowed})", name=f"ck_{table}_state")


def _listing_columns() -> list[Column[Any]]:
    """The listing facts of one object (`ObjectRecord` less its key), fresh for each table."""
    return [
        Column("object_url", Text, nullable=False),
        Column("size", BigInteger, nullable=False),
        Column("version", String(512)),
        Column("last_modified", Float, nullable=False),
        Column("content_type", String(255)),
    ]


files = Table(
    "encord_files",
    metadata,
    Column("pipeline", String(200), primary_key=True),
    Column("key", KeyString, primary_key=True),
    *_listing_columns(),
    Column("source_url", Text, nullable=False, default=""),
    Column("state", StateColumn(FileState), nullable=False),
    Column("chunk_id", String(100)),
    Column("item_key", Text),
    Column("item_uuid", String(64)),
    Column("metadata_hash", String(64)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("error_class", String(100)),
    Column("error_message", Text),
    Column("next_attempt_at", Float),
    Column("first_seen_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_encord_files_state", "pipeline", "state"),
    Index("ix_encord_files_chunk", "chunk_id"),
    _one_of("encord_files", FileState),
)

chunks = Table(
    "encord_chunks",
    metadata,
    Column("chunk_id", String(100), primary_key=True),
    Column("pipeline", String(200), nullable=False),
    Column("lane", String(32), nullable=False),
    Column("state", StateColumn(ChunkState), nullable=False),
    Column("format", String(8), nullable=False),
    Column("manifest", Text, nullable=False),
    Column("file_count", Integer, nullable=False),
    Column("item_count", Integer, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("upload_job_id", String(100)),
    Column("submit_attempts", Integer, nullable=False, default=0),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_encord_chunks_state", "pipeline", "state"),
    _one_of("encord_chunks", ChunkState),
)

jobs = Table(
    "encord_jobs",
    metadata,
    Column("upload_job_id", String(100), primary_key=True),
    Column("chunk_id", String(100), nullable=False),
    Column("pipeline", String(200), nullable=False),
    Column("state", StateColumn(JobRecordState), nullable=False),
    Column("registered_count", Integer, nullable=False, default=0),
    Column("failed_count", Integer, nullable=False, default=0),
    Column("submitted_at", Float, nullable=False),
    Column("finished_at", Float),
    Index("ix_encord_jobs_chunk", "chunk_id"),
    _one_of("encord_jobs", JobRecordState),
)

dataset_links = Table(
    "encord_dataset_links",
    metadata,
    Column("pipeline", String(200), primary_key=True),
    Column("key", KeyString, primary_key=True),
    Column("dataset_hash", String(64), primary_key=True),
    Column("item_uuid", String(64), nullable=False),
    Column("data_hash", String(64)),  # null while linking
    Column("state", StateColumn(LinkState), nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_encord_dataset_links_dataset", "pipeline", "dataset_hash", "state"),
    Index("ix_encord_dataset_links_data", "pipeline", "dataset_hash", "data_hash"),
    _one_of("encord_dataset_links", LinkState),
)

export_states = Table(
    "encord_exports",
    metadata,
    Column("pipeline", String(200), primary_key=True),
    Column("export", String(200), primary_key=True),
    Column("sequence", Integer, nullable=False),  # windows written so far
    Column("edited_through", String(40)),  # the watermark: newest last_edited_at exported
    Column("boundary", Text, nullable=False, default="{}"),  # {label hash: digest} at it
    Column("manifest_url", Text),
    Column("updated_at", Float, nullable=False),
)

# Rows an export with a stage or status filter wrote, at the edit time listed: a row can enter
# such a filter without an edit (a task moved to Complete), so the watermark alone cannot tell.
export_rows = Table(
    "encord_export_rows",
    metadata,
    Column("pipeline", String(200), primary_key=True),
    Column("export", String(200), primary_key=True),
    Column("label_hash", String(64), primary_key=True),
    Column("edited_at", String(40), nullable=False),
)

locks = Table(
    "encord_locks",
    metadata,
    Column("pipeline", String(200), primary_key=True),
    Column("holder", String(100)),
    Column("acquired_at", Float),
)

# Per-connection scratch tables (CREATE TEMPORARY): a listing being diffed, a plan being assigned.
scratch = MetaData()

listing_scratch = Table(
    "encord_listing_scratch",
    scratch,
    Column("key", KeyString, primary_key=True),
    *_listing_columns(),
    prefixes=["TEMPORARY"],
)

# PostgreSQL bulk-loads a page with COPY (no ON CONFLICT there) into this unkeyed table first.
listing_copy_scratch = Table(
    "encord_listing_copy_scratch",
    scratch,
    Column("key", KeyString, nullable=False),
    *_listing_columns(),
    prefixes=["TEMPORARY"],
)

assignment_scratch = Table(
    "encord_assignment_scratch",
    scratch,
    Column("key", KeyString, primary_key=True),
    Column("state", StateColumn(FileState), nullable=False),
    Column("chunk_id", String(100)),
    Column("item_key", Text),
    Column("metadata_hash", String(64)),
    Column("error_message", Text),
    prefixes=["TEMPORARY"],
)
