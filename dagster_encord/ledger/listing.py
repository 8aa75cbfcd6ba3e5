"""Ingesting a listing: bulk-load it into a scratch table, then diff it in a few SQL statements.

Diffing is by key, version (etag/generation) and size, never by timestamps, so objects that share
a last-modified time are never lost. Unsubmitted chunks holding a changed or deleted file are
superseded and their files return to `discovered`, so no stale manifest is ever submitted.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from dagster_encord.ledger.models import DiffSummary
from dagster_encord.ledger.states import ChunkState, FileState
from dagster_encord.ledger.tables import chunks, files, listing_copy_scratch, listing_scratch
from dagster_encord.sources.base import ObjectRecord


def epoch(moment: datetime) -> float:
    """Seconds since the epoch; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def insert_ignore(table: Any, conn: Connection) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


def reset_scratch(conn: Connection, table: Any) -> None:
    table.create(conn, checkfirst=True)
    conn.execute(delete(table))


_SQLITE_STAGE = (
    "INSERT OR IGNORE INTO encord_listing_scratch "
    "(key, object_url, size, version, last_modified, content_type) VALUES (?, ?, ?, ?, ?, ?)"
)


def stage_listing(
    conn: Connection, pages: Iterable[Sequence[ObjectRecord]], batch_size: int
) -> int:
    """Load the listing into the connection's scratch table; returns the distinct key count.

    On SQLite the rows go straight to the driver's executemany as tuples (twice as fast as
    Core's per-row parameter processing); on PostgreSQL with psycopg2 they are COPYed into an
    unkeyed table and moved over with ON CONFLICT DO NOTHING (duplicate keys count once);
    other drivers use Core's batched multi-row VALUES.
    """
    copy = conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg2"
    with conn.begin():
        reset_scratch(conn, listing_scratch)
        if copy:
            reset_scratch(conn, listing_copy_scratch)
    statement = insert_ignore(listing_scratch, conn)
    batch: list[tuple[Any, ...]] = []

    def write(rows: list[tuple[Any, ...]]) -> None:
        with conn.begin():
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql(_SQLITE_STAGE, rows)
            elif copy and can_copy(conn, rows):
                _copy_into_scratch(conn, rows)
            else:
                conn.execute(
                    statement, [dict(zip(_STAGE_COLUMNS, row, strict=True)) for row in rows]
                )

    for page in pages:
        batch += [
            (
                record.key,
                record.object_url,
                record.size,
                record.version,
                epoch(record.last_modified),
                record.content_type,
            )
            for record in page
        ]
        if len(batch) >= batch_size:
            write(batch)
            batch = []
    if batch:
        write(batch)
    with conn.begin():
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE encord_listing_scratch")  # temp tables get no autovacuum
        return int(conn.execute(select(func.count()).select_from(listing_scratch)).scalar_one())


_STAGE_COLUMNS = ("key", "object_url", "size", "version", "last_modified", "content_type")
_PG_NULL = "\\N"


def can_copy(conn: Connection, rows: list[tuple[Any, ...]]) -> bool:
    """PostgreSQL COPY applies: psycopg2, and no value that reads as COPY's NULL marker."""
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "psycopg2":
        return False
    return not any(value == _PG_NULL for row in rows for value in row)


def copy_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Bulk-load rows into a table with PostgreSQL's COPY (check `can_copy` first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows([_PG_NULL if value is None else value for value in row] for row in rows)
    buffer.seek(0)
    dbapi: Any = conn.connection.dbapi_connection
    cursor = dbapi.cursor()
    try:
        cursor.copy_expert(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '{_PG_NULL}')",
            buffer,
        )
    finally:
        cursor.close()


def _copy_into_scratch(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    columns = ", ".join(_STAGE_COLUMNS)
    copy_rows(conn, "encord_listing_copy_scratch", _STAGE_COLUMNS, rows)
    conn.exec_driver_sql(
        f"INSERT INTO encord_listing_scratch ({columns}) "
        f"SELECT {columns} FROM encord_listing_copy_scratch ON CONFLICT (key) DO NOTHING"
    )
    conn.exec_driver_sql("TRUNCATE encord_listing_copy_scratch")


def diff_listing(
    conn: Connection,
    pipeline: str,
    source_url: str,
    listed: int,
    listing_id: str,
    complete: bool,
) -> DiffSummary:
    """Apply the staged listing to the pipeline's files (inside the caller's transaction)."""
    now = time.time()
    s = listing_scratch
    in_pipeline = files.c.pipeline == pipeline
    # `key IN (staged keys)` lets SQLite look the staged keys up; with the join alone it walks
    # every file of the pipeline (0.2 s at 1M files for a batch of 100 events).
    same_key = and_(in_pipeline, files.c.key == s.c.key, files.c.key.in_(select(s.c.key)))
    listing_values = {
        "object_url": s.c.object_url,
        "size": s.c.size,
        "version": s.c.version,
        "last_modified": s.c.last_modified,
        "content_type": s.c.content_type,
        "source_url": source_url,
    }
    reset = {
        "state": FileState.DISCOVERED,
        "chunk_id": None,
        "item_uuid": None,
        "attempts": 0,
        "error_class": None,
        "error_message": None,
        "next_attempt_at": None,
        "updated_at": now,
    }
    changed = or_(files.c.version.is_distinct_from(s.c.version), files.c.size != s.c.size)
    gone = and_(
        files.c.source_url == source_url,
        ~select(s.c.key).where(s.c.key == files.c.key).exists(),
    )
    is_changed = select(s.c.key).where(s.c.key == files.c.key, changed).exists()
    stale = select(files.c.chunk_id).where(
        in_pipeline,
        files.c.state == FileState.PLANNED,
        or_(is_changed, gone) if complete else is_changed,
    )
    supersede(conn, pipeline, [row[0] for row in conn.execute(stale.distinct())], now)

    reappeared = conn.execute(
        update(files)
        .where(same_key, files.c.state == FileState.DELETED)
        .values(**listing_values, **reset)
    ).rowcount
    changed_count = conn.execute(
        update(files).where(same_key, changed).values(**listing_values, **reset)
    ).rowcount
    columns = ["pipeline", "key", "object_url", "size", "version", "last_modified"]
    columns += ["content_type", "source_url", "state", "attempts", "first_seen_at", "updated_at"]
    new = conn.execute(
        insert(files).from_select(
            columns,
            select(
                literal(pipeline),
                s.c.key,
                s.c.object_url,
                s.c.size,
                s.c.version,
                s.c.last_modified,
                s.c.content_type,
                literal(source_url),
                literal(FileState.DISCOVERED, files.c.state.type),
                literal(0),
                literal(now),
                literal(now),
            ).where(~select(files.c.key).where(in_pipeline, files.c.key == s.c.key).exists()),
        )
    ).rowcount
    deleted = 0
    if complete:
        deleted = conn.execute(
            update(files)
            .where(in_pipeline, files.c.state != FileState.DELETED, gone)
            .values(state=FileState.DELETED, chunk_id=None, updated_at=now)
        ).rowcount
    new_total = new + reappeared
    return DiffSummary(
        listing_id=listing_id,
        listed=listed,
        new=new_total,
        changed=changed_count,
        deleted=deleted,
        unchanged=listed - new_total - changed_count,
    )


def supersede(conn: Connection, pipeline: str, chunk_ids: Sequence[str | None], now: float) -> None:
    """Retire unsubmitted chunks; their files go back to `discovered` for re-planning."""
    for chunk_id in chunk_ids:
        if chunk_id is None:
            continue
        conn.execute(
            update(chunks)
            .where(chunks.c.chunk_id == chunk_id, chunks.c.state == ChunkState.PLANNED)
            .values(state=ChunkState.SUPERSEDED, updated_at=now)
        )
        conn.execute(
            update(files)
            .where(
                files.c.pipeline == pipeline,
                files.c.chunk_id == chunk_id,
                files.c.state == FileState.PLANNED,
            )
            .values(state=FileState.DISCOVERED, chunk_id=None, updated_at=now)
        )
