"""The Storage Queue reader's errors against Azurite: each names the queue and the fix and never
shows a key or a SAS; URL and option checks."""

from __future__ import annotations

import base64
import secrets
import socket
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.queue import QueueSasPermissions, generate_queue_sas

from dagster_encord.errors import (
    AccessDeniedError,
    BadCredentialsError,
    EndpointUnreachableError,
    QueueNotFoundError,
    SourceError,
)
from dagster_encord.events import EventReader
from dagster_encord.events.azure_queue import AzureQueueEventReader, queue_url_problem
from dagster_encord.events.event_grid import BLOB_DELETED
from tests.emulators.azure import AzuriteQueue
from tests.events.azure_rig import events_of, reader_for, send, stored_count
from tests.events.event_grid_samples import blob_event, message_body

# --- errors ------------------------------------------------------------------------------------


def test_missing_queue_names_the_queue_and_the_fix(azurite_queue: AzuriteQueue) -> None:
    reader = AzureQueueEventReader(
        f"azqueue://{azurite_queue.account}/no-such-queue",
        endpoint_url=azurite_queue.account_url,
        account_key=azurite_queue.account_key,
    )
    with pytest.raises(QueueNotFoundError, match=r"no-such-queue.*az storage queue create"):
        reader.receive(10, wait_seconds=0)
    assert (problem := reader.queue_problem()) is not None and "does not exist" in problem
    assert reader_for(azurite_queue).queue_problem() is None


def test_wrong_account_key_is_rejected_without_showing_either_key(
    azurite_queue: AzuriteQueue,
) -> None:
    wrong_key = base64.b64encode(secrets.token_bytes(64)).decode()
    reader = reader_for(
        azurite_queue.__class__(**{**vars(azurite_queue), "account_key": wrong_key})
    )
    with pytest.raises(BadCredentialsError, match="connection string, account key or SAS") as err:
        reader.receive(10, wait_seconds=0)
    for key in (wrong_key, azurite_queue.account_key):
        assert key not in str(err.value) and key not in repr(reader)


def test_sas_needs_process_permission(azurite_queue: AzuriteQueue) -> None:
    def reader_with(permission: QueueSasPermissions) -> AzureQueueEventReader:
        sas = generate_queue_sas(
            azurite_queue.account,
            azurite_queue.queue,
            account_key=azurite_queue.account_key,
            permission=permission,
            expiry=datetime.now(UTC) + timedelta(hours=1),
        )
        return AzureQueueEventReader(
            f"azqueue://{azurite_queue.account}/{azurite_queue.queue}",
            endpoint_url=azurite_queue.account_url,
            sas_token=sas,
            max_attempts=1,
        )

    send(azurite_queue, message_body(blob_event("eventgrid", BLOB_DELETED, "m", "z"), "plain"))
    read_only = reader_with(QueueSasPermissions(read=True))
    with pytest.raises(AccessDeniedError, match="Storage Queue Data Message Processor") as err:
        read_only.receive(10, wait_seconds=0)
    assert "sig=" not in str(err.value) and "sig=" not in repr(read_only)
    add_only = reader_with(QueueSasPermissions(add=True))
    assert (problem := add_only.queue_problem()) is not None and "access denied" in problem

    processor = reader_with(QueueSasPermissions(read=True, process=True))
    messages = processor.receive(10, wait_seconds=0)
    assert [e.key for e in events_of(messages)] == ["z"]
    processor.acknowledge(messages)
    assert stored_count(azurite_queue) == 0


def test_unreachable_endpoint() -> None:
    with socket.socket() as sock:  # bound, not listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{sock.getsockname()[1]}/acct"
        key = base64.b64encode(secrets.token_bytes(64)).decode()
        reader = AzureQueueEventReader(
            "azqueue://acct/events", endpoint_url=endpoint, account_key=key, max_attempts=1
        )
        with pytest.raises(EndpointUnreachableError, match=r"cannot reach .*events"):
            reader.receive(1, wait_seconds=0)


# --- URLs and options (no network) -------------------------------------------------------------


def test_https_url_and_pasted_sas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING", raising=False)
    reader = AzureQueueEventReader(
        "https://acct.queue.core.windows.net/bucket-events?sv=2024-08-04&sp=rp&sig=SECRETSIG"
    )
    assert (reader.account, reader.queue_name) == ("acct", "bucket-events")
    assert reader.url == "https://acct.queue.core.windows.net/bucket-events"
    assert reader.account_url == "https://acct.queue.core.windows.net"
    assert "SECRETSIG" not in repr(reader)
    checked: EventReader = reader  # the protocol the sensor uses
    assert checked.url == reader.url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://bucket/events", "not an Azure Storage queue URL"),
        ("https://acct.blob.core.windows.net/events", "not an Azure Storage queue URL"),
        ("azqueue://acct", "names no account or queue"),
        ("azqueue://acct/Bucket_Events", "not a valid queue name"),
        ("azqueue://acct/a--b", "not a valid queue name"),
        ("azqueue://acct/events/extra", "not a valid queue name"),
    ],
)
def test_bad_queue_urls_say_what_to_write(url: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        AzureQueueEventReader(url, account_key="a2V5")
    assert message in (queue_url_problem(url) or "")
    assert queue_url_problem("azqueue://acct/bucket-events") is None


def test_option_limits() -> None:
    with pytest.raises(SourceError, match="visibility_timeout=0"):
        AzureQueueEventReader("azqueue://acct/events", account_key="a2V5", visibility_timeout=0)
    with pytest.raises(SourceError, match="63-character limit"):
        AzureQueueEventReader("azqueue://acct/" + "q" * 60, account_key="a2V5", max_dequeue=5)
