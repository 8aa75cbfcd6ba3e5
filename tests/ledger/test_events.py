"""Bucket events in the ledger: idempotent under redelivery, and an event older than the key's
version changes nothing, in whichever order create and delete arrive."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dagster_encord.ledger import Deletion, FileState, Ledger
from dagster_encord.sources import ObjectRecord

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def record(key: str, version: str, at: datetime) -> ObjectRecord:
    return ObjectRecord(key, f"s3://cams/{key}", 10, version, at)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}", pipeline="cams")
    yield ledger
    ledger.close()


def states(ledger: Ledger) -> dict[str, FileState]:
    return {row.key: row.state for row in ledger.files_in_state(*FileState)}


def test_creates_are_idempotent_and_a_redelivered_batch_changes_nothing(ledger: Ledger) -> None:
    batch = [record("a.jpg", "v1", T0), record("b.jpg", "v1", T0)]
    first = ledger.apply_events(batch, [])
    assert (first.new, first.changed, first.unchanged) == (2, 0, 0)
    again = ledger.apply_events(batch, [])
    assert (again.new, again.changed, again.unchanged, again.stale) == (0, 0, 2, 0)
    overwrite = ledger.apply_events([record("a.jpg", "v2", T0 + timedelta(seconds=5))], [])
    assert (overwrite.new, overwrite.changed) == (0, 1)


def test_a_deletion_then_its_late_create_leaves_the_key_deleted(ledger: Ledger) -> None:
    ledger.apply_events([record("a.jpg", "v1", T0)], [])
    gone = ledger.apply_events([], [Deletion("a.jpg", T0 + timedelta(seconds=10))])
    assert (gone.deleted, states(ledger)["a.jpg"]) == (1, FileState.DELETED)
    late = ledger.apply_events([record("a.jpg", "v1", T0)], [])  # redelivered after the delete
    assert (late.new, late.stale, states(ledger)["a.jpg"]) == (0, 1, FileState.DELETED)
    back = ledger.apply_events([record("a.jpg", "v3", T0 + timedelta(seconds=20))], [])
    assert (back.new, states(ledger)["a.jpg"]) == (1, FileState.DISCOVERED)


def test_a_deletion_older_than_the_current_version_is_ignored(ledger: Ledger) -> None:
    ledger.apply_events([record("a.jpg", "v2", T0 + timedelta(seconds=30))], [])
    stale = ledger.apply_events([], [Deletion("a.jpg", T0)])  # the delete of v1, overtaken by v2
    assert (stale.deleted, stale.stale, states(ledger)["a.jpg"]) == (0, 1, FileState.DISCOVERED)
    unknown = ledger.apply_events([], [Deletion("never-seen.jpg", T0)])
    assert (unknown.deleted, unknown.stale) == (0, 0)


def test_a_deleted_file_leaves_its_planned_chunk_and_the_rest_is_planned_anew(
    ledger: Ledger,
) -> None:
    ledger.apply_events([record(f"{n}.jpg", "v1", T0) for n in range(3)], [])
    first = ledger.plan()
    assert sum(chunk.file_count for chunk in first.chunks) == 3
    ledger.apply_events([], [Deletion("1.jpg", T0 + timedelta(seconds=1))])
    replanned = ledger.plan()
    assert sum(chunk.file_count for chunk in replanned.chunks) == 2
    assert states(ledger)["1.jpg"] is FileState.DELETED


def test_a_deletion_of_another_generation_leaves_the_live_one(ledger: Ledger) -> None:
    """GCS also deletes non-current generations (lifecycle rules): not the key's deletion."""
    ledger.apply_events([record("a.jpg", "1700000000000002", T0)], [])
    old = ledger.apply_events(
        [], [Deletion("a.jpg", T0 + timedelta(seconds=5), "1700000000000001")]
    )
    assert (old.deleted, old.stale, states(ledger)["a.jpg"]) == (0, 1, FileState.DISCOVERED)
    live = ledger.apply_events(
        [], [Deletion("a.jpg", T0 + timedelta(seconds=6), "1700000000000002")]
    )
    assert (live.deleted, states(ledger)["a.jpg"]) == (1, FileState.DELETED)
