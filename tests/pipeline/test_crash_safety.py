"""Kill the run or the daemon at each point of a submission; the next run or tick finishes the
work and the emulator's duplicate counter stays at 0.

A kill is a run that dies at that point: the write-ahead state it leaves in the ledger is exactly
what a killed process leaves, because every transition is committed before the next step starts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from dagster_encord.ledger import ChunkState, FileState, Ledger
from dagster_encord.quickstart.sample_media import png
from tests.pipeline.harness import KEY_ENV, Harness

ROOT = Path(__file__).resolve().parents[2]
POST_JOB = "POST /v2/public/storage/folders/{folder_uuid}/data-upload-jobs"


class SimulatedKill(Exception):
    """Stands for SIGKILL at one line: nothing after it runs in this process."""


def _ledger(harness: Harness) -> Ledger:
    return Ledger(harness.ledger_url, pipeline=harness.name)


def _setup(harness: Harness, count: int = 4) -> tuple[object, str]:
    harness.put({f"cam/{i:03d}.png": png(2, 2, (i, i, i)) for i in range(count)})
    defs = harness.defs(heal_after_seconds=0.0)
    result = harness.evaluate(defs, "new_objects")
    (request,) = result.run_requests or ()
    assert request.partition_key is not None
    return defs, request.partition_key


def _heal_and_finish(harness: Harness, defs: object, count: int) -> None:
    for _ in range(3):
        for run in harness.tick(defs, "job_status"):  # type: ignore[arg-type]
            assert run.success
    ledger = _ledger(harness)
    assert ledger.counts().registered == count
    assert ledger.counts().reconciles
    assert len(harness.emulator.items(harness.folder_uuid)) == count
    assert harness.emulator.duplicate_items() == 0


def test_killed_before_the_job_post(harness: Harness) -> None:
    defs, chunk_id = _setup(harness)
    # The POST never reaches Encord: the connection is cut before the request is handled.
    harness.emulator.drop_connections(path="*/data-upload-jobs", method="POST")
    run = harness.run_chunk(defs, chunk_id, run_key=chunk_id)  # type: ignore[arg-type]
    assert not run.success
    assert _ledger(harness).chunk(chunk_id).state == ChunkState.SUBMITTING
    assert harness.emulator.items(harness.folder_uuid) == []
    _heal_and_finish(harness, defs, 4)


def test_killed_after_the_post_before_the_job_id_is_saved(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    defs, chunk_id = _setup(harness)

    def killed(self: Ledger, chunk_id: str, upload_job_id: str) -> None:
        raise SimulatedKill(f"killed after POSTing job {upload_job_id}")

    with monkeypatch.context() as patch:
        patch.setattr(Ledger, "mark_submitted", killed)
        run = harness.run_chunk(defs, chunk_id, run_key=chunk_id)  # type: ignore[arg-type]
    assert not run.success
    assert _ledger(harness).chunk(chunk_id).state == ChunkState.SUBMITTING
    counters = harness.emulator.counters()
    assert counters.get(POST_JOB) == 1
    # The lost job registers its files on its own; the healed run resubmits the same chunk.
    _heal_and_finish(harness, defs, 4)
    counters = harness.emulator.counters()
    assert counters.get(POST_JOB) == 2


def test_killed_while_polling(harness: Harness) -> None:
    defs, chunk_id = _setup(harness)
    harness.emulator.stall_jobs(1)
    harness.emulator.fail_requests(500, path="*/data-upload-jobs/*", method="GET", count=100)
    run = harness.run_chunk(defs, chunk_id, run_key=chunk_id)  # type: ignore[arg-type]
    assert not run.success
    assert _ledger(harness).chunk(chunk_id).state == ChunkState.SUBMITTED
    harness.emulator.clear_faults()
    harness.emulator.release_jobs()
    harness.wait_for_jobs(_ledger(harness))  # the job status sensor polls without waiting
    _heal_and_finish(harness, defs, 4)
    # Finished by the job-status sensor, not by a second POST.
    counters = harness.emulator.counters()
    assert counters.get(POST_JOB) == 1


def test_daemon_killed_mid_tick(harness: Harness) -> None:
    harness.put({f"cam/{i:03d}.png": png(2, 2, (i, i, i)) for i in range(3)})
    defs = harness.defs()
    name = harness.names.sensor("new_objects")
    harness.evaluate(defs, "new_objects")  # listed and planned, then the daemon died:
    harness.cursors[name] = None  # its cursor and run requests were never stored
    runs = harness.tick(defs, "new_objects")
    assert len(runs) == 1 and runs[0].success
    assert _ledger(harness).counts().registered == 3
    assert harness.tick(defs, "new_objects") == []
    assert harness.emulator.duplicate_items() == 0


@pytest.mark.parametrize("kill_at", ["before_post", "after_post"])
def test_run_worker_killed_with_sigkill(harness: Harness, kill_at: str) -> None:
    """A real kill -9 of the process running the chunk: its run never reports an end."""
    harness.put({f"cam/{i:03d}.png": png(2, 2, (i, i, i)) for i in range(3)})
    defs = harness.defs(heal_after_seconds=0.0, stale_run_seconds=0.0)
    result = harness.evaluate(defs, "new_objects")
    (request,) = result.run_requests or ()
    config = {
        "pipeline": harness.config(),
        "chunk_id": request.partition_key,
        "kill_at": kill_at,
    }
    env = {**os.environ, "DAGSTER_HOME": harness.instance.root_directory}
    worker = subprocess.run(
        [sys.executable, "-m", "tests.pipeline.kill_worker", json.dumps(config)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert worker.returncode == -signal.SIGKILL, worker.stderr.decode()[-2000:]
    chunk = _ledger(harness).chunk(request.partition_key or "")
    assert chunk.state == ChunkState.SUBMITTING
    posts = harness.emulator.counters().get(POST_JOB, 0)
    assert posts == (1 if kill_at == "after_post" else 0)
    (zombie,) = harness.instance.get_runs()
    assert zombie.status == dg.DagsterRunStatus.STARTED  # nobody reported its death
    _heal_and_finish(harness, defs, 3)


def test_resubmitted_chunk_finds_items_its_job_did_not_report(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real Encord may not list skipped duplicates in `itemsWithNames`: look them up by URL."""
    from dagster_encord.encord_client.client import EncordClient
    from dagster_encord.encord_client.jobs import JobState
    from dagster_encord.pipeline import steps

    defs, chunk_id = _setup(harness, count=3)

    def killed(self: Ledger, chunk_id: str, upload_job_id: str) -> None:
        raise SimulatedKill(upload_job_id)

    with monkeypatch.context() as patch:
        patch.setattr(Ledger, "mark_submitted", killed)
        assert not harness.run_chunk(defs, chunk_id, run_key=chunk_id).success  # type: ignore[arg-type]
    ledger = _ledger(harness)
    ledger.mark_submitting(chunk_id)  # the healing resubmission's write-ahead
    ledger.mark_submitted(chunk_id, "00000000-0000-4000-8000-000000000001")
    client = EncordClient.from_ssh_key(os.environ[KEY_ENV], domain=harness.emulator.domain)
    deadline = time.monotonic() + 30
    while len(harness.emulator.items(harness.folder_uuid)) < 3:  # the lost job's items
        assert time.monotonic() < deadline
        time.sleep(0.1)
    silent = JobState(upload_job_id="00000000-0000-4000-8000-000000000001", status="DONE")
    outcome = steps.apply_job_state(client, ledger, harness.folder_uuid, chunk_id, silent)
    assert outcome.registered == 3 and outcome.unaccounted == 0
    assert {row.item_uuid for row in ledger.files_in_state(FileState.REGISTERED)} == {
        item.uuid for item in harness.emulator.items(harness.folder_uuid)
    }
