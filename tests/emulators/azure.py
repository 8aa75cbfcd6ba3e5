"""Azure fixtures: Azurite's `azurite-blob` and `azurite-queue` from node_modules, each on a free
port of 127.0.0.1.

Azurite runs with in-memory persistence, telemetry disabled and the API version check skipped,
and with an account whose name and key are generated at session start (AZURITE_ACCOUNTS), so no
key is committed. It is stopped by PID.

- `azurite_server` (session): the blob service's connection string (a `str` whose repr hides
  the key).
- `azurite_container` (function): a fresh container: an `AzuriteContainer`.
- `azurite_queue_server` (session): the queue service's connection string.
- `azurite_queue` (function): a fresh, empty queue: an `AzuriteQueue`.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.emulators.processes import (
    free_port,
    http_answers,
    start_process,
    stop_process,
    wait_until,
)

_BIN = Path(__file__).resolve().parents[2] / "node_modules" / ".bin"


class ConnectionString(str):
    """A connection string that never shows its key in reprs or assertion output."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ConnectionString('<hidden>')"


@dataclass(frozen=True)
class AzuriteContainer:
    connection_string: ConnectionString = field(repr=False)
    account_url: str
    account: str
    account_key: str = field(repr=False)
    container: str


@dataclass(frozen=True)
class AzuriteQueue:
    connection_string: ConnectionString = field(repr=False)
    account_url: str
    account: str
    account_key: str = field(repr=False)
    queue: str


def _azurite(service: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConnectionString]:
    """Run `azurite-<service>` ("blob" or "queue") until the session ends."""
    binary = _BIN / f"azurite-{service}"
    if not binary.exists():
        raise RuntimeError(f"{binary} is missing: run scripts/bootstrap (needs npm)")
    port = free_port()
    account = f"acct{secrets.token_hex(4)}"
    key = base64.b64encode(secrets.token_bytes(64)).decode()
    process = start_process(
        [
            str(binary),
            f"--{service}Host",
            "127.0.0.1",
            f"--{service}Port",
            str(port),
            "--inMemoryPersistence",
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--silent",
        ],
        cwd=tmp_path_factory.mktemp(f"azurite-{service}"),
        env={"AZURITE_ACCOUNTS": f"{account}:{key}"},
    )
    account_url = f"http://127.0.0.1:{port}/{account}"
    try:
        wait_until(
            http_answers(f"{account_url}?comp=list"), f"Azurite ({service})", process=process
        )
        yield ConnectionString(
            f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};"
            f"{service.capitalize()}Endpoint={account_url};"
        )
    finally:
        stop_process(process)


@pytest.fixture(scope="session")
def azurite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConnectionString]:
    yield from _azurite("blob", tmp_path_factory)


@pytest.fixture(scope="session")
def azurite_queue_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConnectionString]:
    yield from _azurite("queue", tmp_path_factory)


@pytest.fixture()
def azurite_container(azurite_server: ConnectionString) -> Iterator[AzuriteContainer]:
    from azure.storage.blob import BlobServiceClient

    fields = dict(part.split("=", 1) for part in azurite_server.split(";") if part)
    container = f"test-{uuid.uuid4().hex[:16]}"
    BlobServiceClient.from_connection_string(azurite_server).create_container(container)
    yield AzuriteContainer(
        azurite_server,
        fields["BlobEndpoint"],
        fields["AccountName"],
        fields["AccountKey"],
        container,
    )


@pytest.fixture()
def azurite_queue(azurite_queue_server: ConnectionString) -> Iterator[AzuriteQueue]:
    from azure.storage.queue import QueueServiceClient

    fields = dict(part.split("=", 1) for part in azurite_queue_server.split(";") if part)
    queue = f"test-{uuid.uuid4().hex[:16]}"
    QueueServiceClient.from_connection_string(azurite_queue_server).create_queue(queue)
    yield AzuriteQueue(
        azurite_queue_server,
        fields["QueueEndpoint"],
        fields["AccountName"],
        fields["AccountKey"],
        queue,
    )
