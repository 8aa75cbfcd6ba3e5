"""Sensors: incremental new-object runs keyed by chunk id, job status, retries and quarantine."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from dagster_encord.ledger import FileState, Ledger
from dagster_encord.quickstart.sample_media import png
from tests.pipeline.harness import Harness


def _ledger(harness: Harness) -> Ledger:
    return Ledger(harness.ledger_url, pipeline=harness.name)


def _images(count: int, start: int = 0) -> dict[str, bytes]:
    return {
        f"frames/img_{i:04d}.png": png(2, 2, (i % 255, 0, 0)) for i in range(start, start + count)
    }


def test_new_objects_sensor_runs_one_chunk_per_run_key_and_picks_up_new_files(
    harness: Harness,
) -> None:
    harness.put(_images(5))
    defs = harness.defs(planner={"budget": {"image": 2}})
    result = harness.evaluate(defs, "new_objects")
    keys = [request.run_key for request in result.run_requests or ()]
    assert len(keys) >= 3  # 5 images, at most 2 per chunk (dense packing: budget and anchors)
    assert len(set(keys)) == len(keys)
    assert keys == [request.partition_key for request in result.run_requests or ()]
    assert set(keys) == set(harness.chunk_ids())
    # The same tick evaluated again (a daemon restart) asks for the same run keys: no new work.
    again = harness.evaluate(defs, "new_objects")
    assert [r.run_key for r in again.run_requests or ()] == keys
    launched = []
    for request in result.run_requests or ():
        assert request.partition_key is not None
        launched.append(harness.run_chunk(defs, request.partition_key, request.run_key))
    assert all(run.success for run in launched)
    assert harness.tick(defs, "new_objects") == []  # every run key already used
    assert _ledger(harness).counts().registered == 5

    harness.put(_images(1, start=5))
    runs = harness.tick(defs, "new_objects")
    assert len(runs) == 1 and runs[0].success
    assert _ledger(harness).counts().registered == 6
    assert len(harness.emulator.items(harness.folder_uuid)) == 6
    assert harness.emulator.duplicate_items() == 0


def test_transient_failure_is_retried_with_backoff_and_permanent_one_quarantined(
    harness: Harness,
) -> None:
    harness.put(_images(4))
    now = [datetime.now(UTC)]
    defs = harness.defs(clock=lambda: now[0], max_attempts=3)
    ledger = _ledger(harness)
    pending_urls = []
    result = harness.evaluate(defs, "new_objects")  # plans; the faults go in before any POST
    for request in result.run_requests or ():
        assert request.partition_key is not None
        pending_urls.extend(ledger.chunk_object_urls(request.partition_key))
    flaky_url, missing_url = sorted(pending_urls)[:2]
    harness.emulator.fail_url(flaky_url, "Service unavailable (503), try again", attempts=1)
    harness.emulator.fail_url(missing_url, "File not found")
    for request in result.run_requests or ():
        assert request.partition_key is not None
        assert harness.run_chunk(defs, request.partition_key, request.run_key).success
    failed = ledger.files_in_state(FileState.FAILED)
    flaky_row = next(row for row in failed if row.object_url == flaky_url)
    assert flaky_row.error_class == "transient" and flaky_row.attempts == 1
    quarantined = ledger.files_in_state(FileState.QUARANTINED)
    assert [row.object_url for row in quarantined] == [missing_url]
    assert quarantined[0].error_class == "permanent"
    assert "File not found" in (quarantined[0].error_message or "")

    # Not due yet: the retry sensor launches nothing.
    assert harness.tick(defs, "retries") == []
    now[0] = now[0] + timedelta(hours=2)
    runs = harness.tick(defs, "retries")
    assert len(runs) == 1 and runs[0].success
    assert ledger.file(flaky_row.key).state == FileState.REGISTERED  # type: ignore[union-attr]
    assert ledger.counts().reconciles
    assert harness.emulator.duplicate_items() == 0

    # The quarantine check fails (WARN) and lists the file with its error.
    checks = defs.resolve_job_def(harness.names.checks_job).execute_in_process(
        instance=harness.instance, raise_on_error=False
    )
    evaluations = {e.check_name: e for e in checks.get_asset_check_evaluations()}
    assert not evaluations["quarantine"].passed
    assert evaluations["quarantine"].severity == dg.AssetCheckSeverity.WARN
    assert missing_url.rsplit("/", 1)[1] in evaluations["quarantine"].metadata["files"].value
    assert evaluations["reconciliation"].passed
    assert evaluations["no_duplicate_urls"].passed


def test_files_exhausting_their_attempts_are_quarantined(harness: Harness) -> None:
    harness.put(_images(1))
    now = [datetime.now(UTC)]
    defs = harness.defs(clock=lambda: now[0], max_attempts=2)
    ledger = _ledger(harness)
    result = harness.evaluate(defs, "new_objects")
    (request,) = result.run_requests or ()
    assert request.partition_key is not None
    (url,) = ledger.chunk_object_urls(request.partition_key)
    harness.emulator.fail_url(url, "connection reset by peer")  # transient, forever
    assert harness.run_chunk(defs, request.partition_key, request.run_key).success
    assert ledger.files_in_state(FileState.FAILED)[0].attempts == 1
    now[0] += timedelta(hours=2)
    assert all(run.success for run in harness.tick(defs, "retries"))
    (row,) = ledger.files_in_state(FileState.QUARANTINED)
    assert row.attempts == 2 and row.error_class == "transient"
    now[0] += timedelta(hours=2)
    assert harness.tick(defs, "retries") == []


def test_job_status_sensor_finishes_jobs_and_backs_off_on_429(harness: Harness) -> None:
    harness.put(_images(3))
    defs = harness.defs(run_wait_seconds=0.2)
    harness.emulator.stall_jobs(1)
    runs = harness.tick(defs, "new_objects")
    assert len(runs) == 1 and runs[0].success
    ledger = _ledger(harness)
    # The run stopped waiting; the job is still running.
    assert ledger.counts()[FileState.SUBMITTED] == 3

    harness.emulator.release_jobs()
    harness.emulator.rate_limit(path="*/data-upload-jobs/*", method="GET", count=1, retry_after=1)
    result = harness.evaluate(defs, "job_status")
    assert not result.asset_events
    assert ledger.counts()[FileState.SUBMITTED] == 3
    assert "not_before" in (harness.cursors[harness.names.sensor("job_status")] or "")
    harness.evaluate(defs, "job_status")  # inside Retry-After: no poll at all
    assert ledger.counts()[FileState.SUBMITTED] == 3
    time.sleep(1.1)
    result = harness.evaluate(defs, "job_status")
    assert [event.partition for event in result.asset_events or ()] == harness.chunk_ids()
    assert ledger.counts().registered == 3


def test_job_status_tick_stays_within_its_time_budget(harness: Harness) -> None:
    harness.put(_images(8))
    defs = harness.defs(
        planner={"budget": {"image": 2}}, run_wait_seconds=0.1, poll_budget_seconds=1.5
    )
    harness.emulator.stall_jobs(100)
    runs = harness.tick(defs, "new_objects")
    assert len(runs) >= 3 and all(run.success for run in runs)
    ledger = _ledger(harness)
    assert ledger.counts()[FileState.SUBMITTED] == 8
    harness.emulator.release_jobs()
    harness.emulator.add_latency(1.0, path="*/data-upload-jobs/*", method="GET")
    started = time.monotonic()
    first = harness.evaluate(defs, "job_status")
    elapsed = time.monotonic() - started
    assert elapsed < 1.5 + 1.0 + 1.0  # the budget, the poll in flight, the tick's own work
    assert 1 <= len(first.asset_events or ()) < len(runs)
    for _ in range(len(runs)):
        if not ledger.counts().pending:
            break
        harness.evaluate(defs, "job_status")
    assert ledger.counts().registered == 8


# --- unreadable cursors reset instead of failing every tick -------------------------------------

OLD_LISTING_CURSOR = '{"watermark":"2999-01-01T00:00:00+00:00","keys_at_watermark":[]}'


def _assert_reset_warning(capsys: pytest.CaptureFixture[str], sensor: str) -> None:
    err = capsys.readouterr().err
    assert f"sensor cams__{sensor}: cursor" in err
    assert "unreadable; starting from scratch" in err


def test_new_objects_with_an_unreadable_cursor_starts_over_and_registers_each_file_once(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    harness.put(_images(3))
    defs = harness.defs()
    name = harness.names.sensor("new_objects")
    harness.cursors[name] = "\x00garbage{"
    runs = harness.tick(defs, "new_objects")
    assert runs and all(run.success for run in runs)
    _assert_reset_warning(capsys, "new_objects")
    assert _ledger(harness).counts().registered == 3

    # An old unversioned cursor (whose watermark would hide every file) reads as unreadable too:
    # the full listing is diffed against the ledger, so only the new file is registered.
    harness.put(_images(1, start=3))
    harness.cursors[name] = OLD_LISTING_CURSOR
    runs = harness.tick(defs, "new_objects")
    assert len(runs) == 1 and runs[0].success
    _assert_reset_warning(capsys, "new_objects")
    ledger = _ledger(harness)
    assert ledger.counts().registered == ledger.counts().listed == 4
    assert len(harness.emulator.items(harness.folder_uuid)) == 4
    assert harness.emulator.duplicate_items() == 0
    # The cursor written after the reset is readable: the next tick is quiet.
    assert harness.tick(defs, "new_objects") == []
    assert "unreadable" not in capsys.readouterr().err


@pytest.mark.parametrize("cursor", ["not json", '{"not_before":', '{"v":99,"not_before":0}'])
def test_job_status_with_an_unreadable_cursor_polls_as_usual(
    harness: Harness, capsys: pytest.CaptureFixture[str], cursor: str
) -> None:
    harness.put(_images(2))
    defs = harness.defs(run_wait_seconds=0.2)
    harness.emulator.stall_jobs(1)
    assert all(run.success for run in harness.tick(defs, "new_objects"))
    ledger = _ledger(harness)
    assert ledger.counts()["submitted"] == 2
    harness.emulator.release_jobs()
    harness.wait_for_jobs(ledger)
    harness.cursors[harness.names.sensor("job_status")] = cursor
    result = harness.evaluate(defs, "job_status")
    _assert_reset_warning(capsys, "job_status")
    assert [event.partition for event in result.asset_events or ()] == harness.chunk_ids()
    assert ledger.counts().registered == 2
    assert result.cursor == '{"v":1}'
