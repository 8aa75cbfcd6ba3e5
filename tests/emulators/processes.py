"""Start and stop emulator processes: free ports on 127.0.0.1, readiness polling, stop by PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO

_LOGS: dict[int, IO[bytes]] = {}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    ready: Callable[[], bool],
    what: str,
    timeout: float = 30.0,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    """Poll `ready` until it is true; fail loudly (never skip) when the server does not come up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            output = _output(process)
            raise RuntimeError(f"{what} exited with code {process.returncode}:\n{output[-2000:]}")
        if ready():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not become ready within {timeout:.0f} s")


def http_answers(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            urllib.request.urlopen(url, timeout=1).close()
        except urllib.error.HTTPError:
            return True  # any HTTP answer means the server is up
        except OSError:
            return False
        return True

    return check


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Stop a server we started, by its PID (its own process group, so children go too)."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def start_process(
    command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a server in its own session; its output goes to a temp file (a full pipe would
    block a chatty server), which `wait_until` shows if the server dies."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 (kept open for the server's lifetime)
    process = subprocess.Popen(
        command,
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    _LOGS[process.pid] = log
    return process


def _output(process: subprocess.Popen[bytes]) -> str:
    log = _LOGS.get(process.pid)
    if log is None:
        return ""
    log.seek(0)
    return log.read().decode(errors="replace")
