"""DESIGN §2: planned -> submitting -> submitted -> registered / failed -> retry / quarantined."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dagster_encord.errors import LedgerError
from dagster_encord.ledger import ChunkState, FileState, Ledger
from dagster_encord.planner import PlannerConfig
from dagster_encord.sources.base import ObjectRecord

from .helpers import T0, rec

LATER = datetime(2100, 1, 1, tzinfo=UTC)


def planned_ledger(url: str, count: int = 8) -> tuple[Ledger, str, list[str]]:
    ledger = Ledger(url, pipeline="p", max_attempts=2)
    ledger.ingest([[rec(f"i/{n}.jpg") for n in range(count)]], "s3://bucket")
    outcome = ledger.plan()
    [chunk] = outcome.chunks
    return ledger, chunk.chunk_id, ledger.chunk_object_urls(chunk.chunk_id)


def test_happy_path_and_write_ahead(ledger_url: str) -> None:
    ledger, chunk_id, urls = planned_ledger(ledger_url)
    assert ledger.counts()[FileState.PLANNED] == 8
    with pytest.raises(LedgerError, match="call mark_submitting"):
        ledger.mark_submitted(chunk_id, "job-0")
    stored = ledger.mark_submitting(chunk_id)
    assert stored.state == ChunkState.SUBMITTING and stored.submit_attempts == 1
    assert sorted(e["objectUrl"] for e in stored.manifest_payload()["images"]) == sorted(urls)
    assert ledger.counts()[FileState.SUBMITTING] == 8
    # A crash before mark_submitted: the chunk is found in `submitting` and resubmitted as is.
    assert [c.chunk_id for c in ledger.chunks_in_state(ChunkState.SUBMITTING)] == [chunk_id]
    again = ledger.mark_submitting(chunk_id)
    assert again.manifest == stored.manifest and again.submit_attempts == 2
    ledger.mark_submitted(chunk_id, "job-1")
    assert ledger.chunk(chunk_id).upload_job_id == "job-1"
    outcome = ledger.record_job_result(chunk_id, registered={u: f"uuid-{u}" for u in urls})
    assert outcome.registered == 8
    assert ledger.counts().registered == 8 and ledger.counts().reconciles
    assert ledger.file("i/3.jpg").item_uuid == "uuid-s3://bucket/i/3.jpg"  # type: ignore[union-attr]
    assert ledger.chunk(chunk_id).state == ChunkState.COMPLETED
    with pytest.raises(LedgerError, match="completed"):
        ledger.mark_submitting(chunk_id)


def test_failures_retry_with_backoff_then_quarantine(ledger_url: str) -> None:
    ledger, chunk_id, urls = planned_ledger(ledger_url)
    ledger.mark_submitting(chunk_id)
    ledger.mark_submitted(chunk_id, "job-1")
    now = datetime(2030, 1, 1, tzinfo=UTC)
    outcome = ledger.record_job_result(
        chunk_id,
        registered={u: "uuid" for u in urls[:5]},
        failed={urls[5]: ("transient", "503"), urls[6]: ("access_denied", "403 on object")},
        now=now,
    )
    # urls[7] is missing from the finished job's result: it fails too.
    assert (outcome.registered, outcome.failed, outcome.quarantined, outcome.unaccounted) == (
        5,
        2,
        1,
        1,
    )
    counts = ledger.counts()
    assert (counts.registered, counts.failed, counts.quarantined) == (5, 2, 1)
    assert counts.reconciles
    assert ledger.retryable(now) == []
    due = ledger.retryable(now + timedelta(seconds=60))
    assert sorted(f.object_url for f in due) == sorted([urls[5], urls[7]])
    assert {f.error_class for f in due} == {"transient", "missing_from_result"}
    assert ledger.requeue(now + timedelta(seconds=60)) == 2

    retry = ledger.plan()
    [retry_chunk] = retry.chunks
    assert retry_chunk.file_count == 2 and retry_chunk.chunk_id != chunk_id
    ledger.mark_submitting(retry_chunk.chunk_id)
    ledger.mark_submitted(retry_chunk.chunk_id, "job-2")
    ledger.record_job_result(
        retry_chunk.chunk_id,
        failed={urls[5]: ("transient", "503 again"), urls[7]: ("transient", "timeout")},
    )
    # max_attempts=2: the second failure quarantines.
    quarantined = ledger.files_in_state(FileState.QUARANTINED)
    assert sorted(f.object_url for f in quarantined) == sorted([urls[5], urls[6], urls[7]])
    assert all(f.attempts >= 1 for f in quarantined)
    assert ledger.counts().reconciles


def test_retrying_the_same_files_gets_a_new_chunk_id(ledger_url: str) -> None:
    ledger, chunk_id, urls = planned_ledger(ledger_url, count=3)
    ledger.mark_submitting(chunk_id)
    ledger.mark_submitted(chunk_id, "job-1")
    ledger.record_job_result(chunk_id, failed={u: ("transient", "503") for u in urls})
    ledger.requeue(LATER)
    [retry] = ledger.plan().chunks
    assert retry.chunk_id == f"{chunk_id}-r2"  # same content, so run keys stay unique


def test_manual_quarantine_and_counts(ledger_url: str) -> None:
    ledger, _, _ = planned_ledger(ledger_url, count=4)
    assert ledger.quarantine(["i/0.jpg", "i/1.jpg", "nope"], "permanent", "corrupt file") == 2
    counts = ledger.counts()
    assert (counts.listed, counts.quarantined, counts.pending) == (4, 2, 2)
    assert counts.reconciles


def test_changed_file_supersedes_its_unsubmitted_chunk(ledger_url: str) -> None:
    ledger, chunk_id, _ = planned_ledger(ledger_url, count=5)
    listing = [rec(f"i/{n}.jpg") for n in range(5)]
    listing[2] = rec("i/2.jpg", version="v2")
    ledger.ingest([listing], "s3://bucket")
    assert ledger.chunk(chunk_id).state == ChunkState.SUPERSEDED
    with pytest.raises(LedgerError, match="superseded"):
        ledger.mark_submitting(chunk_id)
    [fresh] = ledger.plan().chunks
    assert fresh.file_count == 5 and fresh.chunk_id != chunk_id


def test_unsupported_files_are_recorded_with_their_reason(ledger_url: str) -> None:
    ledger = Ledger(ledger_url, pipeline="p")
    ledger.ingest([[rec("ok.jpg"), rec("notes.xyz")]], "s3://bucket")
    outcome = ledger.plan()
    assert [s.key for s in outcome.skipped] == ["notes.xyz"]
    skipped = ledger.file("notes.xyz")
    assert skipped is not None and skipped.state == FileState.SKIPPED
    assert "'.xyz'" in (skipped.error_message or "")
    assert ledger.counts().reconciles
    # A config that now supports the extension plans it on the next run.
    config = PlannerConfig.from_mapping({"extensions": {".xyz": "text"}})
    assert [c.lane for c in ledger.plan(config).chunks] == ["text"]


def test_group_result_applies_to_every_member_and_metadata_hash_is_kept(
    ledger_url: str,
) -> None:
    ledger = Ledger(ledger_url, pipeline="p")
    ledger.ingest([[rec("s/1.dcm"), rec("s/2.dcm"), rec("s/3.dcm")]], "s3://bucket")
    outcome = ledger.plan(group_metadata_for=lambda group, members: {"patient": group})
    [chunk] = outcome.chunks
    assert chunk.counts == {"dicom_series": 1} and chunk.file_count == 3
    ledger.mark_submitting(chunk.chunk_id)
    ledger.mark_submitted(chunk.chunk_id, "job-1")
    ledger.record_job_result(chunk.chunk_id, registered={"s3://bucket/s/1.dcm": "series-uuid"})
    rows = ledger.files_in_state(FileState.REGISTERED)
    assert [r.item_uuid for r in rows] == ["series-uuid"] * 3
    assert len({r.metadata_hash for r in rows}) == 1 and rows[0].metadata_hash is not None
    assert {r.item_key for r in rows} == {"dicom_series:s"}


def test_quiet_period_keeps_the_group_discovered_until_ready(ledger_url: str) -> None:
    ledger = Ledger(ledger_url, pipeline="p")
    recent = T0 + timedelta(minutes=50)
    ledger.ingest(
        [[rec("s/1.dcm", when=T0), ObjectRecord("s/2.dcm", "s3://b/s/2.dcm", 1, "v", recent)]],
        "s3://bucket",
    )
    config = PlannerConfig(quiet_period_minutes=15)
    held = ledger.plan(config, now=T0 + timedelta(minutes=60))
    assert held.chunks == [] and [h.item_key for h in held.held] == ["dicom_series:s"]
    assert ledger.counts()[FileState.DISCOVERED] == 2
    ready = ledger.plan(config, now=T0 + timedelta(minutes=65))
    assert [c.file_count for c in ready.chunks] == [2]


def test_unknown_chunk_and_results_for_urls_outside_the_chunk(ledger_url: str) -> None:
    ledger, chunk_id, urls = planned_ledger(ledger_url, count=2)
    with pytest.raises(LedgerError, match="'nope' is not in the ledger"):
        ledger.chunk("nope")
    ledger.mark_submitting(chunk_id)
    ledger.mark_submitted(chunk_id, "job-1")
    outcome = ledger.record_job_result(
        chunk_id, registered={urls[0]: "u0", "s3://elsewhere/x.jpg": "u9"}, complete=False
    )
    assert outcome.registered == 1 and outcome.unknown_urls == ("s3://elsewhere/x.jpg",)
    assert ledger.chunk(chunk_id).state == ChunkState.SUBMITTED  # not complete yet


def test_for_dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with pytest.raises(LedgerError, match="DAGSTER_HOME"):
        Ledger.for_dagster_home()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    ledger = Ledger.for_dagster_home("cams")
    assert ledger.url.endswith("encord_ledger.sqlite") and ledger.pipeline == "cams"


def test_unreachable_postgres_is_a_clear_error() -> None:
    with pytest.raises(LedgerError, match="cannot be reached") as caught:
        Ledger("postgresql+psycopg2://postgres:s3cret@127.0.0.1:1/test")
    assert "s3cret" not in str(caught.value)


def test_iter_files_pages_and_metadata_hashes(ledger_url: str) -> None:
    ledger = Ledger(ledger_url, pipeline="p")
    ledger.ingest([[rec(f"m/{n:03d}.jpg") for n in range(25)]], "s3://bucket")
    ledger.plan(metadata_for=lambda r: {"n": r.key})
    rows = list(ledger.iter_files(FileState.PLANNED, page_size=10))
    assert [r.key for r in rows] == [f"m/{n:03d}.jpg" for n in range(25)]
    assert len({r.metadata_hash for r in rows}) == 25
    assert ledger.set_metadata_hashes({"m/000.jpg": "abc", "m/001.jpg": None}) == 2
    assert ledger.file("m/000.jpg").metadata_hash == "abc"  # type: ignore[union-attr]
    assert ledger.file("m/001.jpg").metadata_hash is None  # type: ignore[union-attr]
    assert list(ledger.iter_files(FileState.REGISTERED)) == []


def test_metadata_hash_matches_the_upsert_fingerprint(ledger_url: str) -> None:
    from dagster_encord.metadata.upsert import metadata_fingerprint

    ledger = Ledger(ledger_url, pipeline="p")
    ledger.ingest([[rec("a.jpg"), rec("b.jpg")]], "s3://bucket")
    metadata = {"a.jpg": {"z": 1, "a": [1.5, "x"], "when": "2024-01-01T00:00:00Z"}}
    ledger.plan(metadata_for=lambda r: metadata.get(r.key))
    assert ledger.file("a.jpg").metadata_hash == metadata_fingerprint(metadata["a.jpg"])  # type: ignore[union-attr]
    assert ledger.file("b.jpg").metadata_hash == metadata_fingerprint(None)  # type: ignore[union-attr]
