"""Azure Blob fixtures: Azurite's `azurite-blob` from node_modules, on a free port of 127.0.0.1.

Azurite runs with in-memory persistence, telemetry disabled and the API version check skipped,
and with an account whose name and key are generated at session start (AZURITE_ACCOUNTS), so no
key is committed. It is stopped by PID.

- `azurite_server` (session): a connection string (a `str` whose repr hides the key).
- `azurite_container` (function): a fresh container: an `AzuriteContainer`.
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

_AZURITE = Path(__file__).resolve().parents[2] / "node_modules" / ".bin" / "azurite-blob"


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


@pytest.fixture(scope="session")
def azurite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConnectionString]:
    if not _AZURITE.exists():
        raise RuntimeError(f"{_AZURITE} is missing: run scripts/bootstrap (needs npm)")
    port = free_port()
    account = f"acct{secrets.token_hex(4)}"
    key = base64.b64encode(secrets.token_bytes(64)).decode()
    process = start_process(
        [
            str(_AZURITE),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--inMemoryPersistence",
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--silent",
        ],
        cwd=tmp_path_factory.mktemp("azurite"),
        env={"AZURITE_ACCOUNTS": f"{account}:{key}"},
    )
    account_url = f"http://127.0.0.1:{port}/{account}"
    try:
        wait_until(http_answers(f"{account_url}?comp=list"), "Azurite", process=process)
        yield ConnectionString(
            f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};"
            f"BlobEndpoint={account_url};"
        )
    finally:
        stop_process(process)


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
