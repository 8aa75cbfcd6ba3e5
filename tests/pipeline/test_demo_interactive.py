"""`./scripts/demo` (interactive): the UI serves the pipeline, the sensors register the sample
bucket, and SIGTERM stops `dagster dev` and everything under it (no orphans)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
QUERY = "{ assetNodes { assetKey { path } } }"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _graphql(port: int) -> dict[str, object] | None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": QUERY}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return dict(json.load(response))
    except OSError:
        return None


def _registered(tmp_path: Path) -> int:
    """Files the ledger holds as registered, from `dagster-encord status demo`."""
    result = subprocess.run(
        [sys.executable, "-m", "dagster_encord.cli", "status", "demo"],
        cwd=ROOT,
        env={**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster_home")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    for line in result.stdout.splitlines():
        words = line.split()
        if words[:1] == ["registered"]:
            return int(words[1].replace(",", ""))
    return 0


def test_interactive_demo_serves_the_pipeline_and_stops_cleanly(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "AWS_"))}
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagster_encord.cli",
            "demo",
            "--dir",
            str(tmp_path),
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        answer = None
        while answer is None and time.monotonic() < deadline and demo.poll() is None:
            time.sleep(1)
            answer = _graphql(port)
        assert answer is not None, f"the Dagster UI never answered on 127.0.0.1:{port}"
        nodes = answer["data"]["assetNodes"]  # type: ignore[index]
        paths = {tuple(node["assetKey"]["path"]) for node in nodes}
        assert ("demo", "bucket_listing") in paths and ("demo", "registered_files") in paths

        # The sensors are on: the sample bucket registers without anyone clicking.
        while time.monotonic() < deadline and _registered(tmp_path) < 17:
            time.sleep(2)
        assert _registered(tmp_path) == 17  # every sample file, as in the headless demo

        family = psutil.Process(demo.pid).children(recursive=True)
        assert family, "dagster dev should be running under the demo"
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=90) == 0
        _gone, alive = psutil.wait_procs(family, timeout=30)
        assert not alive, f"left running after SIGTERM: {[p.cmdline() for p in alive]}"
        assert _graphql(port) is None
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
