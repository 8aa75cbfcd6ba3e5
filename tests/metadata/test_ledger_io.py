"""Upserts read from and write to a real (SQLite) ledger."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from dagster_encord.ledger import ChunkState, FileState, Ledger
from dagster_encord.metadata.ledger_io import (
    METADATA_ERROR_CLASS,
    record_upsert_outcome,
    updates_from_ledger,
)
from dagster_encord.metadata.sources import FromCallable
from dagster_encord.metadata.upsert import metadata_fingerprint
from dagster_encord.metadata.upsert_execute import UpsertReport
from dagster_encord.sources.base import ObjectRecord

BUCKET = "https://b.s3.eu-west-2.amazonaws.com"


def _registered_ledger(tmp_path: Path, item_of: dict[str, str]) -> Ledger:
    """Files through the ledger's own state machine to `registered` with the given item uuids."""
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}", pipeline="p")
    records = [
        ObjectRecord(key, f"{BUCKET}/{key}", 1, "v1", datetime(2024, 1, 1, tzinfo=UTC))
        for key in item_of
    ]
    ledger.ingest([records], BUCKET)
    ledger.plan()
    for planned in ledger.chunks_in_state(ChunkState.PLANNED):
        ledger.mark_submitting(planned.chunk_id)
        ledger.mark_submitted(planned.chunk_id, f"job-{planned.chunk_id}")
        ledger.record_job_result(
            planned.chunk_id,
            registered={f"{BUCKET}/{key}": uuid for key, uuid in item_of.items()},
        )
    return ledger


def test_updates_come_per_item_and_groups_share_their_common_keys(tmp_path: Path) -> None:
    ledger = _registered_ledger(
        tmp_path,
        {"a.jpg": "item-a", "g/0.jpg": "item-g", "g/1.jpg": "item-g", "none.jpg": "item-n"},
    )
    metadata = {
        "a.jpg": {"k": 1},
        "g/0.jpg": {"site": "A", "frame": 0},
        "g/1.jpg": {"site": "A", "frame": 1},
        "none.jpg": None,
    }
    updates = {
        u.item_uuid: u for u in updates_from_ledger(ledger, FromCallable(lambda r: metadata[r.key]))
    }
    assert set(updates) == {"item-a", "item-g"}
    assert updates["item-a"].metadata == {"k": 1}
    assert updates["item-a"].data_type == "images"
    assert updates["item-g"].metadata == {"site": "A"}
    assert updates["item-g"].object_url == f"{BUCKET}/g/0.jpg"


def test_outcome_writes_fingerprints_and_errors_without_changing_state(tmp_path: Path) -> None:
    ledger = _registered_ledger(tmp_path, {"a.jpg": "item-a", "b.jpg": "item-b"})
    report = UpsertReport(
        mode="patch",
        sent={f"{BUCKET}/a.jpg": {"k": 2}},
        stored={f"{BUCKET}/a.jpg": {"k": 2, "other": 1}},
        errors={f"{BUCKET}/b.jpg": "metadata key 'k' on ...: expected a finite number, got 'x'"},
    )
    assert record_upsert_outcome(ledger, report) == (1, 1)
    a, b = ledger.file("a.jpg"), ledger.file("b.jpg")
    assert a is not None and b is not None
    assert a.metadata_hash == metadata_fingerprint({"k": 2}) and a.error_class is None
    assert b.error_class == METADATA_ERROR_CLASS and "expected a finite number" in (
        b.error_message or ""
    )
    assert (a.state, b.state) == (FileState.REGISTERED, FileState.REGISTERED)
    updates = list(updates_from_ledger(ledger, FromCallable(lambda r: {"k": 2})))
    by_uuid = {u.item_uuid: u for u in updates}
    assert by_uuid["item-a"].previous_fingerprint == metadata_fingerprint({"k": 2})
