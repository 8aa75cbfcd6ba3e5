"""`EncordEmulator`: the Encord API emulator as a context manager (and the server behind the CLI).

It serves the Starlette app with uvicorn on 127.0.0.1 from a background thread. uvicorn's event
loop holds long polls as cheap coroutines, so many clients and pending-job polls never block one
another; CPU-heavy handlers (large upload bodies) run on the thread pool.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from dagster_encord.emulator.app import build_app
from dagster_encord.emulator.core import DEFAULT_USER, CoreSettings, EmulatorCore
from dagster_encord.emulator.faults import HttpFault, Latency
from dagster_encord.emulator.records import Folder, Item
from dagster_encord.emulator.workflow import DEFAULT_WORKFLOW_TEMPLATE_UUID


class EncordEmulator:
    """An Encord API server the real `encord` SDK talks to via `domain=emulator.domain`."""

    # the built-in workflow template: Annotate 1 -> Review 1 -> Complete
    DEFAULT_WORKFLOW_TEMPLATE_UUID = DEFAULT_WORKFLOW_TEMPLATE_UUID

    def __init__(
        self,
        state_path: str | Path | None = None,
        port: int = 0,
        *,
        verify_objects: bool = True,
        local_root: str | Path | None = None,
        probe_media: bool = True,
        poll_cap_seconds: float = 20.0,
    ) -> None:
        self.core = EmulatorCore(
            CoreSettings(
                state_path=Path(state_path) if state_path is not None else None,
                verify_objects=verify_objects,
                local_root=Path(local_root) if local_root is not None else None,
                probe_media=probe_media,
                poll_cap_seconds=poll_cap_seconds,
            )
        )
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> EncordEmulator:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", self._port))
        self._port = self._socket.getsockname()[1]
        config = uvicorn.Config(
            build_app(self.core),
            log_level="critical",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=1,
            limit_concurrency=1000,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name="encord-emulator",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"Encord emulator did not start on 127.0.0.1:{self._port}")
            time.sleep(0.01)
        return self

    def serve_forever(self) -> None:
        """Run in the foreground until interrupted (the CLI)."""
        if self._thread is None:
            self.start()
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self.core.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> EncordEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def domain(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    # --- identities and integrations -------------------------------------------------------

    def new_ssh_key(self, user: str = DEFAULT_USER) -> str:
        """A fresh ed25519 private key (OpenSSH text) whose public key is registered."""
        return self.core.new_ssh_key(user)

    def add_public_key(self, public_key: str, user: str = DEFAULT_USER) -> str:
        """Register `ssh-ed25519 AAAA...` (or 64 hex chars); returns the SDK's key id."""
        return self.core.add_public_key(public_key, user)

    def add_token(self, token: str | None = None, user: str = DEFAULT_USER) -> str:
        return self.core.add_token(token, user)

    def add_integration(self, title: str, provider: str = "s3") -> str:
        return self.core.add_integration(title, provider)

    # --- workflow templates ----------------------------------------------------------------

    def add_workflow_template(
        self, title: str, stages: Sequence[tuple[str, str] | Mapping[str, str]]
    ) -> str:
        """Register a workflow template; returns the uuid to pass as `workflow_template_hash`.

        `stages` in order, as `(title, stage type)` pairs (types ANNOTATION, REVIEW, DONE) or
        `{"title", "stageType", "uuid"?}` dicts; the first is an ANNOTATION stage and one is DONE.
        The built-in template is `DEFAULT_WORKFLOW_TEMPLATE_UUID` (Annotate 1, Review 1, Complete).
        """
        return self.core.add_workflow_template(title, stages)

    def workflow_templates(self) -> list[dict[str, Any]]:
        return self.core.workflow_templates()

    # --- inspection ------------------------------------------------------------------------

    def counters(self) -> dict[str, int]:
        return self.core.counters.snapshot()

    def reset_counters(self) -> None:
        self.core.counters.reset()

    def duplicate_items(self) -> int:
        return self.core.state.duplicate_items()

    def describe(self) -> dict[str, Any]:
        return self.core.describe()

    def folders(self) -> list[Folder]:
        with self.core.state.lock:
            return list(self.core.state.folders.values())

    def items(self, folder_uuid: str | None = None) -> list[Item]:
        state = self.core.state
        with state.lock:
            if folder_uuid is None:  # top-level items, as listed: a group's frames are not
                return [i for i in state.items.values() if i.group_uuid is None]
            return [state.items[u] for u in state.folder_items.get(folder_uuid, {})]

    def reset(self) -> None:
        """Forget all data, faults and counters and return to real time (keys stay)."""
        self.core.reset()

    # --- clock -----------------------------------------------------------------------------

    def freeze_clock(self, at: str | datetime) -> None:
        """Stamp every record change with `at` (ISO 8601 or datetime; naive means UTC) until
        `advance_clock` or `unfreeze_clock`."""
        self.core.state.clock.freeze(at)

    def advance_clock(self, seconds: float) -> None:
        """Move the frozen clock on by `seconds` (fractions allowed)."""
        self.core.state.clock.advance(seconds)

    def unfreeze_clock(self) -> None:
        self.core.state.clock.unfreeze()

    # --- faults ----------------------------------------------------------------------------

    def fail_requests(
        self,
        status: int,
        path: str = "*",
        method: str = "*",
        count: int = 1,
        retry_after: int | None = None,
        message: str = "injected fault",
    ) -> None:
        """Answer the next `count` requests matching `method` and `path` (fnmatch over the path or
        endpoint name, e.g. `*/data-upload-jobs` or `legacy dataset.GET`) with `status`."""
        self.core.faults.add_http(HttpFault(method, path, status, count, retry_after, message))

    def rate_limit(
        self, path: str = "*", method: str = "*", count: int = 1, retry_after: int = 1
    ) -> None:
        self.fail_requests(429, path, method, count, retry_after, "rate limited")

    def drop_connections(self, path: str = "*", method: str = "*", count: int = 1) -> None:
        self.core.faults.add_http(HttpFault(method, path, remaining=count, drop=True))

    def add_latency(self, seconds: float, path: str = "*", method: str = "*") -> None:
        self.core.faults.add_latency(Latency(seconds, method, path))

    def fail_url(
        self, url: str, error: str = "File not found", attempts: int | None = None
    ) -> None:
        """Upload jobs fail `url` with `error`: for the next `attempts` tries, or always (None)."""
        self.core.faults.fail_url(url, error, attempts)

    def stall_jobs(self, count: int = 1) -> None:
        """The next `count` upload jobs stay PENDING until `release_jobs()`."""
        self.core.faults.add_stalls(count)

    def release_jobs(self) -> int:
        return self.core.jobs.release_stalled()

    def clear_faults(self) -> None:
        self.core.faults.clear()
