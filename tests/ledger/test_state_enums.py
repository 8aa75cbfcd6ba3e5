"""The state enums are what the tables store: every member round-trips as its own string, and a
state that is not a member is refused, by the typed column and by the CHECK constraint."""

from __future__ import annotations

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import IntegrityError, StatementError

from dagster_encord.ledger import ChunkState, FileState, JobRecordState, Ledger
from dagster_encord.ledger import session as ledger_session
from dagster_encord.ledger.tables import chunks, files, jobs

from .helpers import rec


def planned_ledger(url: str) -> tuple[Ledger, str]:
    ledger = Ledger(url, pipeline="p")
    ledger.ingest([[rec("a.jpg")]], "s3://bucket")
    [chunk] = ledger.plan().chunks
    return ledger, chunk.chunk_id


def stored(ledger: Ledger, table: str, where: str, value: str) -> str:
    """The state column as the database holds it (raw SQL: no enum conversion)."""
    with ledger_session.read(ledger.engine) as conn:
        return str(
            conn.execute(
                text(f"SELECT state FROM {table} WHERE {where} = :value"), {"value": value}
            ).scalar_one()
        )


def test_states_round_trip_as_their_strings(ledger_url: str) -> None:
    ledger, chunk_id = planned_ledger(ledger_url)
    ledger.mark_submitting(chunk_id)
    ledger.mark_submitted(chunk_id, "job-1")
    for file_state in FileState:
        with ledger_session.write(ledger.engine) as conn:
            conn.execute(update(files).where(files.c.key == "a.jpg").values(state=file_state))
        assert stored(ledger, "encord_files", "key", "a.jpg") == file_state.value
        row = ledger.file("a.jpg")
        assert row is not None and type(row.state) is FileState and row.state is file_state
        assert ledger.counts().by_state == {file_state: 1}
        assert [r.key for r in ledger.files_in_state(file_state)] == ["a.jpg"]
    for chunk_state in ChunkState:
        with ledger_session.write(ledger.engine) as conn:
            conn.execute(update(chunks).values(state=chunk_state))
        assert stored(ledger, "encord_chunks", "chunk_id", chunk_id) == chunk_state.value
        assert ledger.chunk(chunk_id).state is chunk_state
        assert [c.chunk_id for c in ledger.chunks_in_state(chunk_state)] == [chunk_id]
    for job_state in JobRecordState:
        with ledger_session.write(ledger.engine) as conn:
            conn.execute(update(jobs).values(state=job_state))
        assert stored(ledger, "encord_jobs", "upload_job_id", "job-1") == job_state.value


@pytest.mark.parametrize("table", ["encord_files", "encord_chunks", "encord_jobs"])
def test_an_unknown_state_is_refused(ledger_url: str, table: str) -> None:
    ledger, chunk_id = planned_ledger(ledger_url)
    ledger.mark_submitting(chunk_id)
    ledger.mark_submitted(chunk_id, "job-1")
    typed = {"encord_files": files, "encord_chunks": chunks, "encord_jobs": jobs}[table]
    # Through SQLAlchemy: the typed column refuses it before anything is sent.
    with (
        pytest.raises(StatementError, match="'linkd' is not a"),
        ledger_session.write(ledger.engine) as conn,
    ):
        conn.execute(update(typed).values(state="linkd"))
    # Raw SQL: the CHECK constraint refuses it.
    with (
        pytest.raises(IntegrityError, match=f"ck_{table}_state|CHECK constraint"),
        ledger_session.write(ledger.engine) as conn,
    ):
        conn.execute(text(f"UPDATE {table} SET state = 'linkd'"))
    assert ledger.file("a.jpg").state is FileState.SUBMITTED  # type: ignore[union-attr]
    assert ledger.chunk(chunk_id).state is ChunkState.SUBMITTED
