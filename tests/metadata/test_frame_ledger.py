"""Per-frame updates of group items out of a real (SQLite) ledger, and their outcome written back:
member fingerprints, the group part gating them, frame errors on member files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dagster_encord.ledger import ChunkState, FileState, Ledger
from dagster_encord.metadata.frames import FrameReport, member_fingerprint, plan_frames
from dagster_encord.metadata.ledger_io import (
    METADATA_ERROR_CLASS,
    collect_from_ledger,
    record_upsert_outcome,
)
from dagster_encord.metadata.schema import DeclaredSchema, enum, scalar
from dagster_encord.metadata.sources import FromCallable
from dagster_encord.metadata.upsert import metadata_fingerprint, plan_upserts
from dagster_encord.metadata.upsert_execute import UpsertReport
from dagster_encord.metadata.validate import MetadataValidator
from dagster_encord.sources.base import ObjectRecord

BUCKET = "https://b.s3.eu-west-2.amazonaws.com"
KEYS = ["g/0.jpg", "g/1.jpg", "g/2.jpg"]
URLS = [f"{BUCKET}/{key}" for key in KEYS]


def _group_ledger(tmp_path: Path, shared: dict[str, Any]) -> Ledger:
    """A three-member group registered (item `item-g`) with `shared` inline, as planned."""
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}", pipeline="p")
    records = [
        ObjectRecord(key, url, 1, "v1", datetime(2024, 1, 1, tzinfo=UTC))
        for key, url in zip(KEYS, URLS, strict=True)
    ]
    ledger.ingest([records], BUCKET)
    ledger.plan(metadata_for=lambda record: shared)
    for planned in ledger.chunks_in_state(ChunkState.PLANNED):
        ledger.mark_submitting(planned.chunk_id)
        ledger.mark_submitted(planned.chunk_id, f"job-{planned.chunk_id}")
        ledger.record_job_result(planned.chunk_id, registered=dict.fromkeys(URLS, "item-g"))
    return ledger


def _provider(metadata: dict[str, dict[str, Any]]) -> FromCallable:
    return FromCallable(lambda record: metadata[record.key])


def test_only_members_with_changed_frames_are_updated(tmp_path: Path) -> None:
    ledger = _group_ledger(tmp_path, {"site": "A"})
    metadata: dict[str, dict[str, Any]] = {
        KEYS[0]: {"site": "A", "frame": 0},
        KEYS[1]: {"site": "A"},  # nothing of its own: as registered
        KEYS[2]: {"site": "A", "frame": 2},
    }
    collected = collect_from_ledger(ledger, _provider(metadata))
    (group,) = collected.updates
    # The group part is as registered: skipped on its fingerprint, not sent.
    assert group.metadata == {"site": "A"}
    assert plan_upserts(collected.updates).unchanged == (URLS[0],)
    (frames,) = collected.frames
    assert (frames.group_item_uuid, frames.group_url) == ("item-g", URLS[0])
    assert frames.frames == {URLS[0]: {"frame": 0}, URLS[2]: {"frame": 2}}
    assert set(frames.fingerprints) == {URLS[0], URLS[2]}

    # Frames verified: members get their fingerprints and the next collect finds nothing.
    report = UpsertReport(mode="patch")
    report.frames = FrameReport(plan=plan_frames(collected.frames), verified={URLS[0], URLS[2]})
    assert record_upsert_outcome(ledger, report) == (2, 0)
    row = ledger.file(KEYS[2])
    assert row is not None and row.metadata_hash == member_fingerprint({"site": "A"}, {"frame": 2})
    assert collect_from_ledger(ledger, _provider(metadata)).frames == ()

    # One frame changes: that member alone.
    metadata[KEYS[2]] = {"site": "A", "frame": 20}
    (again,) = collect_from_ledger(ledger, _provider(metadata)).frames
    assert again.frames == {URLS[2]: {"frame": 20}}
    assert list(again.fingerprints) == [URLS[2]]


def test_a_group_part_change_resends_it_and_its_failure_holds_every_member(
    tmp_path: Path,
) -> None:
    ledger = _group_ledger(tmp_path, {"site": "A"})
    metadata = {key: {"site": "B", "frame": n} for n, key in enumerate(KEYS)}
    collected = collect_from_ledger(ledger, _provider(metadata))
    (group,) = collected.updates
    assert group.previous_fingerprint is None  # every member changed: the group part is sent
    assert plan_upserts(collected.updates).patch_count == 1

    report = UpsertReport(mode="patch", errors={URLS[0]: "patching the group: refused"})
    report.frames = FrameReport(plan=plan_frames(collected.frames), verified=set(URLS))
    assert record_upsert_outcome(ledger, report) == (0, 1)
    rows = [ledger.file(key) for key in KEYS]
    assert all(
        r is not None and r.metadata_hash == metadata_fingerprint({"site": "A"}) for r in rows
    )
    assert rows[0] is not None and rows[0].error_class == METADATA_ERROR_CLASS

    # The group part verified: every member records group and frame together.
    report = UpsertReport(mode="patch", sent={URLS[0]: {"site": "B"}})
    report.frames = FrameReport(plan=plan_frames(collected.frames), verified=set(URLS))
    assert record_upsert_outcome(ledger, report) == (3, 0)
    for n, key in enumerate(KEYS):
        row = ledger.file(key)
        assert row is not None and row.error_class is None
        assert row.metadata_hash == member_fingerprint({"site": "B"}, {"frame": n})


def test_invalid_frames_are_rejected_and_recorded_on_their_member_file(tmp_path: Path) -> None:
    ledger = _group_ledger(tmp_path, {})
    schema = DeclaredSchema.of(scalar("frame", "number"), enum("weather", ["sunny", "rainy"]))
    metadata = {
        KEYS[0]: {"frame": 0, "weather": "sunny"},
        KEYS[1]: {"frame": 1, "weather": "hail"},
        KEYS[2]: {"frame": 2, "weather": "sunny"},
    }
    collected = collect_from_ledger(ledger, _provider(metadata))
    plan = plan_frames(collected.frames, validator=MetadataValidator(schema))
    assert set(plan.rejected) == {URLS[1]} and "'hail'" in plan.rejected[URLS[1]]
    assert plan.frame_count == 2  # frames 0 and 2; frame 1 is never sent
    report = UpsertReport(mode="patch")
    report.frames = FrameReport(plan=plan, verified={URLS[0], URLS[2]}, errors=dict(plan.rejected))
    assert record_upsert_outcome(ledger, report) == (2, 1)
    bad = ledger.file(KEYS[1])
    assert bad is not None and bad.error_class == METADATA_ERROR_CLASS
    assert bad.state == FileState.REGISTERED and "'hail'" in (bad.error_message or "")


def test_a_group_part_change_without_frame_keys_records_every_member(tmp_path: Path) -> None:
    ledger = _group_ledger(tmp_path, {"site": "A"})
    metadata = {key: {"site": "B"} for key in KEYS}
    collected = collect_from_ledger(ledger, _provider(metadata))
    (frames,) = collected.frames
    assert frames.frames == {} and set(frames.fingerprints) == set(URLS)
    plan = plan_frames(collected.frames)
    assert plan.patches == {}
    report = UpsertReport(mode="patch", sent={URLS[0]: {"site": "B"}})
    report.frames = FrameReport(plan=plan)
    assert record_upsert_outcome(ledger, report) == (3, 0)
    assert collect_from_ledger(ledger, _provider(metadata)).frames == ()
    (group,) = collect_from_ledger(ledger, _provider(metadata)).updates
    assert plan_upserts([group]).unchanged == (URLS[0],)
