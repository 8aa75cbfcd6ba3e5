"""GCS fixtures: `gcp-storage-emulator` in its own process on a free port of 127.0.0.1.

- `gcs_server` (session): the endpoint URL (in-memory storage; stopped by PID).
- `gcs_bucket` (function): a fresh bucket: `(endpoint_url, bucket_name)`.

The emulator runs through `tests.emulators.gcs_launcher` (see there why). It needs no
credentials; clients use `AnonymousCredentials`. It ignores `pageToken`, `maxResults` and
`startOffset` on object listing: every listing comes back as one page.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator

import pytest

from tests.emulators.processes import (
    free_port,
    http_answers,
    start_process,
    stop_process,
    wait_until,
)


def _emulator_command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tests.emulators.gcs_launcher",
        "start",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--in-memory",
    ]


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[str]:
    port = free_port()
    process = start_process(_emulator_command(port))
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_until(http_answers(f"{endpoint}/"), "gcp-storage-emulator", process=process)
        yield endpoint
    finally:
        stop_process(process)


def gcs_client(endpoint: str):  # type: ignore[no-untyped-def]
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(
        project="test",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": endpoint},
    )


@pytest.fixture()
def gcs_bucket(gcs_server: str) -> Iterator[tuple[str, str]]:
    bucket = f"test-{uuid.uuid4().hex[:16]}"
    gcs_client(gcs_server).create_bucket(bucket)
    yield gcs_server, bucket
