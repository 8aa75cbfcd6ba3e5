"""State-machine writes after planning: submit (write-ahead), job results, requeue, quarantine.

Each function runs inside the caller's write transaction, which already holds the pipeline lock
(`session.lock`), and takes `now` in epoch seconds so the caller decides the clock.

- `mark_submitting` before the job POST (from `planned`, or again from `submitting` after a
  crash), `mark_submitted` after it, recording the upload job.
- `record_job_result` applies the retry policy of `results.py` to the files still submitting or
  submitted in the chunk; a complete result completes the chunk and finishes its job.
- `requeue` returns due failures to `discovered`; `quarantine` parks files by key.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from sqlalchemy import Connection, and_, bindparam, select, update

from dagster_encord.errors import LedgerError
from dagster_encord.ledger.listing import insert_ignore
from dagster_encord.ledger.models import JobOutcome, StoredChunk
from dagster_encord.ledger.queries import due_failures, in_pipeline, stored_chunk
from dagster_encord.ledger.results import Member, result_updates
from dagster_encord.ledger.states import (
    IN_FLIGHT_FILE_STATES,
    OPEN_CHUNK_STATES,
    ChunkState,
    FileState,
    JobRecordState,
)
from dagster_encord.ledger.tables import chunks, files, jobs


def mark_submitting(conn: Connection, pipeline: str, chunk_id: str, now: float) -> StoredChunk:
    chunk = stored_chunk(conn, pipeline, chunk_id)
    if chunk.state not in OPEN_CHUNK_STATES:
        raise LedgerError(
            f"chunk {chunk_id!r} is {chunk.state}; only planned or submitting chunks can "
            "be submitted (a superseded chunk's files are re-planned in a new chunk)"
        )
    conn.execute(
        update(chunks)
        .where(chunks.c.chunk_id == chunk_id)
        .values(
            state=ChunkState.SUBMITTING,
            submit_attempts=chunks.c.submit_attempts + 1,
            updated_at=now,
        )
    )
    conn.execute(
        update(files)
        .where(
            in_pipeline(pipeline),
            files.c.chunk_id == chunk_id,
            files.c.state.in_((FileState.PLANNED, FileState.SUBMITTING)),
        )
        .values(state=FileState.SUBMITTING, updated_at=now)
    )
    return stored_chunk(conn, pipeline, chunk_id)


def mark_submitted(
    conn: Connection, pipeline: str, chunk_id: str, upload_job_id: str, now: float
) -> None:
    chunk = stored_chunk(conn, pipeline, chunk_id)
    if chunk.state != ChunkState.SUBMITTING:
        raise LedgerError(
            f"chunk {chunk_id!r} is {chunk.state}, not submitting; call "
            "mark_submitting() before POSTing its upload job"
        )
    conn.execute(
        update(chunks)
        .where(chunks.c.chunk_id == chunk_id)
        .values(state=ChunkState.SUBMITTED, upload_job_id=upload_job_id, updated_at=now)
    )
    conn.execute(
        update(files)
        .where(
            in_pipeline(pipeline),
            files.c.chunk_id == chunk_id,
            files.c.state == FileState.SUBMITTING,
        )
        .values(state=FileState.SUBMITTED, updated_at=now)
    )
    conn.execute(
        insert_ignore(jobs, conn),
        [
            {
                "upload_job_id": upload_job_id,
                "chunk_id": chunk_id,
                "pipeline": pipeline,
                "state": JobRecordState.RUNNING,
                "registered_count": 0,
                "failed_count": 0,
                "submitted_at": now,
            }
        ],
    )


def record_job_result(
    conn: Connection,
    pipeline: str,
    chunk_id: str,
    *,
    registered: Mapping[str, str],
    failed: Mapping[str, tuple[str, str]],
    complete: bool,
    permanent: Collection[str],
    max_attempts: int,
    now: float,
) -> JobOutcome:
    """Apply an upload job's per-URL outcome to the chunk's files still in flight."""
    chunk = stored_chunk(conn, pipeline, chunk_id)
    members = [
        Member(*row)
        for row in conn.execute(
            select(files.c.key, files.c.object_url, files.c.item_key, files.c.attempts).where(
                in_pipeline(pipeline),
                files.c.chunk_id == chunk_id,
                files.c.state.in_(IN_FLIGHT_FILE_STATES),
            )
        )
    ]
    updates = result_updates(
        members,
        registered,
        failed,
        complete=complete,
        permanent=permanent,
        max_attempts=max_attempts,
        now=now,
    )
    where = and_(in_pipeline(pipeline), files.c.key == bindparam("b_key"))
    if updates.registered:
        conn.execute(
            update(files)
            .where(where)
            .values(
                state=FileState.REGISTERED,
                item_uuid=bindparam("b_uuid"),
                error_class=None,
                error_message=None,
                next_attempt_at=None,
                updated_at=now,
            ),
            updates.registered,
        )
    if updates.errors:
        conn.execute(
            update(files)
            .where(where)
            .values(
                state=bindparam("b_state"),
                attempts=bindparam("b_attempts"),
                error_class=bindparam("b_class"),
                error_message=bindparam("b_message"),
                next_attempt_at=bindparam("b_next"),
                updated_at=now,
            ),
            updates.errors,
        )
    counts = updates.counts
    if complete:
        conn.execute(
            update(chunks)
            .where(chunks.c.chunk_id == chunk_id)
            .values(state=ChunkState.COMPLETED, updated_at=now)
        )
        if chunk.upload_job_id:
            conn.execute(
                update(jobs)
                .where(jobs.c.upload_job_id == chunk.upload_job_id)
                .values(
                    state=JobRecordState.FINISHED,
                    registered_count=counts[FileState.REGISTERED],
                    failed_count=counts[FileState.FAILED] + counts[FileState.QUARANTINED],
                    finished_at=now,
                )
            )
    return JobOutcome(
        registered=counts[FileState.REGISTERED],
        failed=counts[FileState.FAILED],
        quarantined=counts[FileState.QUARANTINED],
        unaccounted=updates.unaccounted,
        unknown_urls=updates.unknown_urls,
    )


def requeue(conn: Connection, pipeline: str, now: float) -> int:
    """Due failures back to `discovered`, out of their chunk; returns how many."""
    return int(
        conn.execute(
            update(files)
            .where(in_pipeline(pipeline), due_failures(now))
            .values(state=FileState.DISCOVERED, chunk_id=None, updated_at=now)
        ).rowcount
    )


def quarantine(
    conn: Connection, pipeline: str, keys: Sequence[str], error_class: str, message: str, now: float
) -> int:
    """Quarantine files by key, whatever their state; returns how many rows changed."""
    batch = [{"b_key": key} for key in keys]
    if not batch:
        return 0
    result = conn.execute(
        update(files)
        .where(in_pipeline(pipeline), files.c.key == bindparam("b_key"))
        .values(
            state=FileState.QUARANTINED,
            error_class=error_class,
            error_message=message,
            next_attempt_at=None,
            updated_at=now,
        ),
        batch,
    )
    return int(result.rowcount)
