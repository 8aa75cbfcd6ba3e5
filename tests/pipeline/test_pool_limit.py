"""The folder's pool limits concurrent `upload_jobs` steps at run time, across runs.

Dagster's executors (the in-process one included) claim a slot in the instance's concurrency
table before they start a step that has a pool, and free it when the step ends; a step that finds
the pool full waits. Here the folder's pool gets N slots (`dagster instance concurrency set`), the
chunk runs of the folder run at once, each in its own process, on that one instance, and every
job POST is slowed by the emulator, so the `upload_jobs` steps would overlap unless the pool kept
them apart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import yaml

from dagster_encord.quickstart.sample_media import png
from tests.pipeline.harness import Harness

ROOT = Path(__file__).resolve().parents[2]
CHUNKS = 3
POST_LATENCY_SECONDS = 4.0
POST_JOB = "POST /v2/public/storage/folders/{folder_uuid}/data-upload-jobs"
STEP = "cams__upload_jobs"
PLANNER = {"budget": {"image": 1}}  # one file per chunk


def _step_window(instance: dg.DagsterInstance, run_id: str, step_key: str) -> tuple[float, float]:
    """(start, end) timestamps of one step, from the run's event log."""

    def stamps(event_type: dg.DagsterEventType) -> list[float]:
        logs = instance.all_logs(run_id, of_type=event_type)
        return [entry.timestamp for entry in logs if entry.step_key == step_key]

    starts, ends = stamps(dg.DagsterEventType.STEP_START), stamps(dg.DagsterEventType.STEP_SUCCESS)
    assert len(starts) == 1 and len(ends) == 1, (run_id, starts, ends)
    return starts[0], ends[0]


def _most_at_once(windows: list[tuple[float, float]]) -> int:
    """The most windows open at one moment (a window ending as another starts is not overlap)."""
    edges = sorted([(end, -1) for _, end in windows] + [(start, 1) for start, _ in windows])
    open_now = most = 0
    for _, step in edges:
        open_now += step
        most = max(most, open_now)
    return most


def _upload_windows(harness: Harness, tmp_path: Path, limit: int) -> list[tuple[float, float]]:
    """Give the folder's pool `limit` slots, plan CHUNKS one-file chunks, run every chunk's run
    at once in its own process, and return each run's `upload_jobs` step window."""
    harness.put({f"frames/img_{i:04d}.png": png(2, 2, (i, 0, 0)) for i in range(CHUNKS)})
    home = tmp_path / f"dagster_home_limit_{limit}"
    home.mkdir()
    settings = {"telemetry": {"enabled": False}}
    (home / "dagster.yaml").write_text(yaml.safe_dump(settings))
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    # The documented way to set one folder's limit (the factory's docstring names it).
    pool = f"encord-folder-{harness.folder_uuid}"
    subprocess.run(
        [sys.executable, "-m", "dagster", "instance", "concurrency", "set", pool, str(limit)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    with dg.instance_for_test(
        overrides=settings, temp_dir=str(home), set_dagster_home=False
    ) as instance:
        chunk_ids = _plan(harness, instance)
        harness.emulator.add_latency(POST_LATENCY_SECONDS, path="*/data-upload-jobs", method="POST")
        base = {"pipeline": harness.config(planner=PLANNER)}
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.pipeline.pool_worker", json.dumps(config)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for config in ({**base, "chunk_id": chunk_id} for chunk_id in chunk_ids)
        ]
        outputs = [worker.communicate(timeout=180) for worker in workers]
        for worker, (_, err) in zip(workers, outputs, strict=True):
            assert worker.returncode == 0, err[-3000:]
        run_ids = [out.strip().splitlines()[-1] for out, _ in outputs]
        assert harness.emulator.counters()[POST_JOB] == CHUNKS
        return [_step_window(instance, run_id, STEP) for run_id in run_ids]


def _plan(harness: Harness, instance: dg.DagsterInstance) -> list[str]:
    """Materialize the listing on `instance` and return its chunk partitions."""
    job = harness.defs(planner=PLANNER).resolve_implicit_global_asset_job_def()
    listing = job.execute_in_process(
        instance=instance, asset_selection=[dg.AssetKey([harness.name, "bucket_listing"])]
    )
    assert listing.success
    chunk_ids = list(instance.get_dynamic_partitions(harness.names.partitions))
    assert len(chunk_ids) == CHUNKS
    return chunk_ids


def test_pool_limit_one_serialises_job_submissions(harness: Harness, tmp_path: Path) -> None:
    windows = _upload_windows(harness, tmp_path, limit=1)
    assert _most_at_once(windows) == 1, windows
    # One after another, each step holding the slot for at least its slowed POST.
    ordered = sorted(windows)
    assert ordered[-1][1] - ordered[0][0] >= CHUNKS * POST_LATENCY_SECONDS


def test_pool_limit_two_lets_submissions_overlap(harness: Harness, tmp_path: Path) -> None:
    windows = _upload_windows(harness, tmp_path, limit=2)
    assert _most_at_once(windows) == 2, windows  # they overlap, but never all three at once
