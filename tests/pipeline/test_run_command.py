"""`dagster-encord run PIPELINE.yaml --once`: a pipeline without the daemon, as users run it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

from dagster_encord.ledger import FileState, Ledger
from dagster_encord.quickstart.sample_media import png
from tests.pipeline.harness import Harness

ROOT = Path(__file__).resolve().parents[2]


def _write(harness: Harness, folder: Path, **overrides: Any) -> Path:
    path = folder / "pipeline.yaml"
    document = {"type": "dagster_encord.EncordPipeline", "attributes": harness.config(**overrides)}
    path.write_text(yaml.safe_dump(document))
    return path


def _command(pipeline_yaml: Path, home: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "dagster_encord.cli",
        "run",
        str(pipeline_yaml),
        "--once",
        "--dagster-home",
        str(home),
        "--max-seconds",
        "120",
    ]


def _run(pipeline_yaml: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _command(pipeline_yaml, home),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "DAGSTER_DISABLE_TELEMETRY": "1"},
    )


def _urls_in_folder(harness: Harness) -> Counter[str]:
    return Counter(item.url for item in harness.emulator.items(harness.folder_uuid))


def test_run_once_registers_every_file_and_exits_0(harness: Harness, tmp_path: Path) -> None:
    files = {f"cams/{i:02d}.png": png(2, 2, (i, i, i)) for i in range(7)}
    harness.put(files)
    pipeline_yaml = _write(harness, tmp_path, planner={"budget": {"image": 3}})
    done = _run(pipeline_yaml, tmp_path / "home")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "cams: 7 registered of 7 listed, 0 pending" in done.stdout
    assert "check reconciliation: passed" in done.stdout
    urls = _urls_in_folder(harness)
    assert len(urls) == 7 and set(urls.values()) == {1}
    # The runs live in the instance at --dagster-home, so `dagster dev` there shows them.
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        assert {run.status for run in instance.get_runs()} == {dg.DagsterRunStatus.SUCCESS}
    again = _run(pipeline_yaml, tmp_path / "home")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 runs" in again.stdout  # nothing new: no chunk, no POST
    assert _urls_in_folder(harness) == urls


def test_run_once_exits_1_when_a_check_fails(harness: Harness, tmp_path: Path) -> None:
    harness.put({"q/good.png": png(2, 2, (1, 1, 1)), "q/gone.png": png(2, 2, (2, 2, 2))})
    harness.emulator.fail_url(f"{harness.endpoint}/{harness.bucket}/q/gone.png", "File not found")
    done = _run(_write(harness, tmp_path), tmp_path / "home")
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    assert "check quarantine: FAILED" in done.stdout
    assert "1 registered of 2 listed" in done.stdout and "1 quarantined" in done.stdout


def test_a_killed_run_is_resumed_at_once(harness: Harness, tmp_path: Path) -> None:
    harness.put({f"k/{i}.png": png(2, 2, (i, 0, 0)) for i in range(3)})
    pipeline_yaml = _write(harness, tmp_path)
    home = tmp_path / "home"
    harness.emulator.stall_jobs(100)  # the chunk's run waits on its job: killed mid-run
    first = subprocess.Popen(
        _command(pipeline_yaml, home),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "DAGSTER_DISABLE_TELEMETRY": "1"},
    )
    ledger = Ledger(harness.ledger_url, pipeline=harness.name)
    deadline = time.monotonic() + 120
    while ledger.counts()[FileState.SUBMITTED] < 3:  # waits for a state, polled
        assert first.poll() is None and time.monotonic() < deadline, "the job was never POSTed"
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    harness.emulator.release_jobs()
    second = _run(pipeline_yaml, home)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "marked 1 runs of killed processes failed" in second.stderr
    with dg.DagsterInstance.from_config(str(home)) as instance:
        statuses = Counter(run.status for run in instance.get_runs())
    assert statuses[dg.DagsterRunStatus.STARTED] == 0
    assert statuses[dg.DagsterRunStatus.FAILURE] == 1
    urls = _urls_in_folder(harness)
    assert len(urls) == 3 and set(urls.values()) == {1}


def test_status_reads_the_pipeline_file(harness: Harness, tmp_path: Path) -> None:
    harness.put({"s/a.png": png(2, 2, (3, 3, 3))})
    pipeline_yaml = _write(harness, tmp_path)
    assert _run(pipeline_yaml, tmp_path / "home").returncode == 0
    done = subprocess.run(
        [sys.executable, "-m", "dagster_encord.cli", "status", str(pipeline_yaml)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("pipeline cams (")
    assert "registered           1" in done.stdout


def test_run_once_links_the_configured_datasets(harness: Harness, tmp_path: Path) -> None:
    harness.put({f"d/{i}.png": png(2, 2, (i, 1, 1)) for i in range(2)})
    pipeline_yaml = _write(harness, tmp_path, datasets=[{"title": "cams-all"}])
    done = _run(pipeline_yaml, tmp_path / "home")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "materialized encord_datasets" in done.stderr
    state = harness.emulator.core.state
    (dataset,) = [d for d in state.datasets.values() if d.title == "cams-all"]
    linked = {state.data_rows[h].item_uuid for h in dataset.data_hashes}
    assert linked == {item.uuid for item in harness.emulator.items(harness.folder_uuid)}
    assert len(linked) == 2
    status = subprocess.run(
        [sys.executable, "-m", "dagster_encord.cli", "status", str(pipeline_yaml)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status.returncode == 0, status.stderr
    assert "registered           2" in status.stdout
    assert "linked             2  (in a dataset)" in status.stdout
