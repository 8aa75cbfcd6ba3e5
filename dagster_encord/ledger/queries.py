"""The read side of the ledger: stored chunks, file rows, counts, paged file listings.

Every function reads one pipeline's rows; all but `iter_files` run on a connection the caller
holds (inside its transaction), so transitions can read what they are about to change.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, select, true

from dagster_encord.errors import LedgerError
from dagster_encord.ledger import session
from dagster_encord.ledger.models import FileRow, LedgerCounts, PlannedChunk, StoredChunk
from dagster_encord.ledger.states import ChunkState, FileState
from dagster_encord.ledger.tables import chunks, files

SUMMARY_COLUMNS = (
    chunks.c.chunk_id,
    chunks.c.lane,
    chunks.c.state,
    chunks.c.format,
    chunks.c.file_count,
    chunks.c.item_count,
    chunks.c.bytes,
    chunks.c.upload_job_id,
    chunks.c.submit_attempts,
)

_FILE_COLUMNS = (
    files.c.key,
    files.c.object_url,
    files.c.size,
    files.c.version,
    files.c.state,
    files.c.chunk_id,
    files.c.item_key,
    files.c.item_uuid,
    files.c.metadata_hash,
    files.c.attempts,
    files.c.error_class,
    files.c.error_message,
    files.c.next_attempt_at,
)


def in_pipeline(pipeline: str) -> Any:
    return files.c.pipeline == pipeline


def stored_chunk(conn: Connection, pipeline: str, chunk_id: str) -> StoredChunk:
    """The chunk with its manifest; a clear error when it is not this pipeline's."""
    row = conn.execute(
        select(*SUMMARY_COLUMNS, chunks.c.manifest).where(
            chunks.c.chunk_id == chunk_id, chunks.c.pipeline == pipeline
        )
    ).one_or_none()
    if row is None:
        raise LedgerError(
            f"chunk {chunk_id!r} is not in the ledger for pipeline {pipeline!r}; "
            "list chunks with chunks_in_state()"
        )
    return StoredChunk(**row._mapping)


def chunks_in_state(
    conn: Connection, pipeline: str, states: Collection[ChunkState]
) -> list[PlannedChunk]:
    query = select(*SUMMARY_COLUMNS).where(chunks.c.pipeline == pipeline)
    if states:
        query = query.where(chunks.c.state.in_(states))
    return [PlannedChunk(*row) for row in conn.execute(query.order_by(chunks.c.chunk_id))]


def chunk_object_urls(conn: Connection, pipeline: str, chunk_id: str) -> list[str]:
    return list(
        conn.execute(
            select(files.c.object_url)
            .where(in_pipeline(pipeline), files.c.chunk_id == chunk_id)
            .order_by(files.c.key)
        ).scalars()
    )


def counts(conn: Connection, pipeline: str) -> LedgerCounts:
    rows = conn.execute(
        select(files.c.state, func.count()).where(in_pipeline(pipeline)).group_by(files.c.state)
    ).all()
    return LedgerCounts({state: int(count) for state, count in rows})


def file_rows(
    conn: Connection, pipeline: str, condition: Any, limit: int | None = None
) -> list[FileRow]:
    """This pipeline's files matching `condition`, in key order."""
    rows = conn.execute(
        select(*_FILE_COLUMNS)
        .where(in_pipeline(pipeline), condition)
        .order_by(files.c.key)
        .limit(limit)
    ).all()
    return [FileRow(**row._mapping) for row in rows]


def file(conn: Connection, pipeline: str, key: str) -> FileRow | None:
    found = file_rows(conn, pipeline, files.c.key == key)
    return found[0] if found else None


def in_states(states: Collection[FileState]) -> Any:
    """Files in any of `states`; every file when none given."""
    return files.c.state.in_(states) if states else true()


def due_failures(moment: float) -> Any:
    """Failed files whose backoff has passed at `moment` (epoch seconds)."""
    return and_(files.c.state == FileState.FAILED, files.c.next_attempt_at <= moment)


def iter_files(
    engine: Engine, pipeline: str, states: Collection[FileState], page_size: int
) -> Iterator[FileRow]:
    """Files in `states`, in key order, one page (one short transaction) at a time."""
    after: str | None = None
    while True:
        condition: Any = in_states(states)
        if after is not None:
            condition = and_(condition, files.c.key > after)
        with session.read(engine) as conn:
            page = file_rows(conn, pipeline, condition, limit=page_size)
        yield from page
        if len(page) < page_size:
            return
        after = page[-1].key
