"""The Azure Storage Queue event reader against Azurite's queue service (a real Storage Queue).

Azurite has no Event Grid, so these tests enqueue what Event Grid would write: blob events in the
Event Grid schema and in the CloudEvents 1.0 schema, exactly as Microsoft documents them
(`event_grid_samples.py`), base64-encoded (Event Grid's default) and plain, one event per message
and JSON arrays. Redelivery is waited for with a deadline through the reader's own `receive`,
never with a bare sleep.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from dagster_encord.errors import AcknowledgeError
from dagster_encord.events import EventKind, ObjectEvent, QueueMessage
from dagster_encord.events.azure_queue import AzureQueueEventReader
from dagster_encord.events.event_grid import BLOB_CREATED, BLOB_DELETED
from tests.emulators.azure import AzuriteQueue
from tests.emulators.processes import wait_until
from tests.events.azure_rig import (
    client_for,
    events_of,
    reader_for,
    receive_at_least,
    send,
    stored_count,
)
from tests.events.event_grid_samples import (
    ACCOUNT,
    DOCUMENTED_BLOB_CREATED,
    DOCUMENTED_BLOB_DELETED,
    DOCUMENTED_BLOB_TIER_CHANGED,
    DOCUMENTED_DATA_LAKE_CREATE_FILE,
    ODD_NAME,
    blob_event,
    message_body,
)


@pytest.fixture()
def reader(azurite_queue: AzuriteQueue) -> Iterator[AzureQueueEventReader]:
    opened = reader_for(azurite_queue, visibility_timeout=1, poll_interval=0.1)
    yield opened
    opened.close()


# --- parsing, through the queue ----------------------------------------------------------------


@pytest.mark.parametrize("schema", ["eventgrid", "cloudevents"])
@pytest.mark.parametrize("encoding", ["base64", "plain"])
@pytest.mark.parametrize("shape", ["one event per message", "array"])
def test_created_and_deleted_events_in_every_schema_encoding_and_shape(
    schema: Any,
    encoding: Any,
    shape: str,
    azurite_queue: AzuriteQueue,
    reader: AzureQueueEventReader,
) -> None:
    created = blob_event(
        schema, BLOB_CREATED, "media", ODD_NAME, size=2048, sequencer="0" * 31 + "A"
    )
    deleted = blob_event(schema, BLOB_DELETED, "media", "old/clip.mp4", time="2026-03-01T12:00:05Z")
    if shape == "array":
        send(azurite_queue, message_body([created, deleted], encoding))
    else:
        send(azurite_queue, message_body(created, encoding), message_body(deleted, encoding))

    messages = receive_at_least(reader, 1 if shape == "array" else 2)

    assert [m.poison for m in messages] == [None] * len(messages)
    assert sorted(events_of(messages), key=lambda e: e.kind) == [
        ObjectEvent(
            kind=EventKind.CREATED,
            bucket="media",
            key=ODD_NAME,
            event_time=datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC),
            size=2048,
            etag="0x8DE1A2B3C4D5E6F",
            sequencer="0000000000000000000000000000000A",
            content_type="image/jpeg",
            account=ACCOUNT,
        ),
        ObjectEvent(
            kind=EventKind.DELETED,
            bucket="media",
            key="old/clip.mp4",
            event_time=datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC),
            sequencer="00000000000000000000000000000001",
            content_type="image/jpeg",
            account=ACCOUNT,
        ),
    ]


def test_microsoft_documented_samples(
    azurite_queue: AzuriteQueue, reader: AzureQueueEventReader
) -> None:
    send(
        azurite_queue,
        message_body(DOCUMENTED_BLOB_CREATED, "base64"),
        message_body([DOCUMENTED_BLOB_DELETED], "plain"),
    )
    messages = receive_at_least(reader, 2)
    assert events_of(messages) == [
        ObjectEvent(
            kind=EventKind.CREATED,
            bucket="test-container",  # the subject's, not data.url's "testcontainer"
            key="new-file.txt",
            event_time=datetime(2017, 6, 26, 18, 41, 0, 958410, tzinfo=UTC),
            size=524288,
            etag="0x8D4BCC2E4835CD0",
            sequencer="00000000000004420000000000028963",
            content_type="text/plain",
            account=ACCOUNT,
        ),
        ObjectEvent(
            kind=EventKind.DELETED,
            bucket="testcontainer",
            key="file-to-delete.txt",
            event_time=datetime(2017, 11, 7, 20, 9, 22, 567400, tzinfo=UTC),
            sequencer="0000000000000281000000000002F5CA",
            content_type="text/plain",
            account=ACCOUNT,
        ),
    ]


def test_subject_without_leading_slash_and_naive_time_are_read(
    azurite_queue: AzuriteQueue, reader: AzureQueueEventReader
) -> None:
    # The CloudEvents page's sample writes the subject without its slash; LifecyclePolicy
    # samples write times without a zone, which Azure means as UTC.
    event = blob_event("cloudevents", BLOB_CREATED, "media", "a.jpg", time="2026-03-01T08:00:00")
    event["subject"] = event["subject"].removeprefix("/")
    del event["source"]  # the account then comes from data.url's host
    send(azurite_queue, message_body(event, "plain"))
    [message] = receive_at_least(reader, 1)
    [parsed] = message.events
    assert (parsed.bucket, parsed.key, parsed.account) == ("media", "a.jpg", ACCOUNT)
    assert parsed.event_time == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def test_other_event_types_give_no_events_and_are_acknowledged(
    azurite_queue: AzuriteQueue, reader: AzureQueueEventReader
) -> None:
    renamed = blob_event("eventgrid", "Microsoft.Storage.BlobRenamed", "media", "b.jpg")
    directory = blob_event("cloudevents", "Microsoft.Storage.DirectoryDeleted", "media", "dir")
    send(
        azurite_queue,
        message_body(DOCUMENTED_BLOB_TIER_CHANGED, "base64"),
        message_body([DOCUMENTED_DATA_LAKE_CREATE_FILE], "plain"),  # FlushWithClose follows
        message_body(renamed, "base64"),
        message_body([directory], "base64"),
    )
    messages = receive_at_least(reader, 4)
    assert [(m.events, m.poison) for m in messages] == [([], None)] * 4
    reader.acknowledge(messages)
    assert stored_count(azurite_queue) == 0


# --- acknowledgement and redelivery ------------------------------------------------------------


def test_acknowledged_messages_are_gone_and_unacknowledged_come_back(
    azurite_queue: AzuriteQueue, reader: AzureQueueEventReader
) -> None:
    send(
        azurite_queue,
        *(message_body(blob_event("eventgrid", BLOB_CREATED, "m", k), "base64") for k in "abc"),
    )
    first = receive_at_least(reader, 3)
    assert [m.handle.dequeue_count for m in first] == [1, 1, 1]

    reader.acknowledge([m for m in first if m.events[0].key != "c"])
    assert stored_count(azurite_queue) == 1  # a and b deleted; c received but not yet visible

    again = receive_at_least(reader, 1)  # after c's 1 s visibility timeout
    assert [(m.message_id, m.events[0].key) for m in again] == [(first[2].message_id, "c")]
    assert again[0].handle.dequeue_count == 2

    reader.acknowledge(again)
    assert stored_count(azurite_queue) == 0


def test_a_stale_receipt_is_named_after_every_other_message_is_deleted(
    azurite_queue: AzuriteQueue, reader: AzureQueueEventReader
) -> None:
    send(azurite_queue, message_body(blob_event("eventgrid", BLOB_CREATED, "m", "x"), "plain"))
    [stale] = receive_at_least(reader, 1)  # hidden for 1 s only
    patient = reader_for(azurite_queue, visibility_timeout=60)
    [fresh] = receive_at_least(patient, 1)  # x again, with a new pop receipt
    send(
        azurite_queue,
        *(message_body(blob_event("eventgrid", BLOB_CREATED, "m", k), "plain") for k in "yz"),
    )
    others = patient.receive(10, wait_seconds=0)
    assert sorted(m.events[0].key for m in others) == ["y", "z"]

    with pytest.raises(AcknowledgeError, match=r"PopReceiptMismatch.*visibility_timeout") as err:
        patient.acknowledge([others[0], stale, others[1]])
    assert err.value.message_ids == [stale.message_id]
    assert stored_count(azurite_queue) == 1  # y and z deleted, x still there
    patient.acknowledge([fresh])
    assert stored_count(azurite_queue) == 0

    with pytest.raises(ValueError, match="no Storage Queue pop receipt"):
        patient.acknowledge([QueueMessage("foreign", handle="an SQS receipt handle")])


def test_receive_pages_past_32_and_acknowledges_in_parallel(azurite_queue: AzuriteQueue) -> None:
    # Connection-string credentials (the QueueEndpoint in it), as AZURE_STORAGE_CONNECTION_STRING.
    reader = AzureQueueEventReader(
        f"azqueue://{azurite_queue.account}/{azurite_queue.queue}",
        connection_string=azurite_queue.connection_string,
    )
    body = message_body(blob_event("cloudevents", BLOB_CREATED, "m", "k.jpg"), "base64")
    send(azurite_queue, *[body] * 75)
    assert reader.receive(0, wait_seconds=0) == []
    first = reader.receive(70, wait_seconds=0)
    rest = reader.receive(70, wait_seconds=0)
    assert (len(first), len(rest)) == (70, 5)
    assert len({m.message_id for m in first + rest}) == 75
    reader.acknowledge(first + rest)
    assert stored_count(azurite_queue) == 0


def test_receive_waits_only_while_nothing_has_arrived(
    azurite_queue: AzuriteQueue, reader: AzureQueueEventReader
) -> None:
    started = time.monotonic()
    assert reader.receive(10, wait_seconds=1.0) == []
    assert 1.0 <= time.monotonic() - started < 5.0

    body = message_body(blob_event("eventgrid", BLOB_CREATED, "m", "late.jpg"), "plain")
    late = threading.Timer(0.5, send, args=(azurite_queue, body))  # the scenario: a late event
    started = time.monotonic()
    late.start()
    try:
        messages = reader.receive(10, wait_seconds=30.0)
    finally:
        late.join()
    assert [m.events[0].key for m in messages] == ["late.jpg"]
    assert time.monotonic() - started < 10.0  # returned on arrival, not at the deadline

    send(azurite_queue, body, body)
    started = time.monotonic()
    assert len(reader.receive(10, wait_seconds=30.0)) == 2
    assert time.monotonic() - started < 5.0


# --- poison messages ---------------------------------------------------------------------------

MARKER = "BODY-TEXT-THAT-MUST-NOT-BE-LOGGED"


def _poison_bodies() -> dict[str, str]:
    good = blob_event("eventgrid", BLOB_CREATED, "m", "ok.jpg")
    bad_subject = blob_event("eventgrid", BLOB_CREATED, "m", "x.jpg")
    bad_subject["subject"] = "/blobServices/default/containers/m/files/x.jpg"
    bad_size = blob_event("cloudevents", BLOB_CREATED, "m", "y.jpg")
    bad_size["data"]["contentLength"] = "12"
    no_type = {"subject": good["subject"], "data": good["data"], "note": MARKER}
    encoded = base64.b64encode(f"hello {MARKER}".encode()).decode()
    return {
        "neither JSON nor base64": f"<event>{MARKER}</event>",
        "base64 body is not valid JSON": encoded,
        "is not /blobServices/default/containers": message_body(bad_subject, "plain"),
        "data.contentLength is not an integer": message_body(bad_size, "base64"),
        "no eventType": json.dumps(no_type),
        "event 1: Microsoft.Storage.BlobCreated: data is not an object": json.dumps(
            [good, {"eventType": BLOB_CREATED, "data": MARKER}]
        ),
    }


def test_poison_is_never_acknowledged_and_its_dequeue_count_rises(
    azurite_queue: AzuriteQueue, reader: AzureQueueEventReader
) -> None:
    poison_bodies = _poison_bodies()
    good = message_body(blob_event("eventgrid", BLOB_CREATED, "m", "ok.jpg"), "base64")
    send(azurite_queue, *poison_bodies.values(), good)

    messages = receive_at_least(reader, len(poison_bodies) + 1)
    poison = [m for m in messages if m.poison is not None]
    assert [e.key for e in events_of(messages)] == ["ok.jpg"]
    assert len(poison) == len(poison_bodies)
    for expected, message in zip(poison_bodies, poison, strict=True):
        assert message.poison is not None and expected in message.poison.replace("'", "")
        assert MARKER not in message.poison and len(message.poison) < 200
        assert message.events == []

    reader.acknowledge(messages)  # a careless caller passes them all: only the good one goes
    assert stored_count(azurite_queue) == len(poison_bodies)

    again = receive_at_least(reader, len(poison_bodies))
    assert {m.message_id for m in again} == {m.message_id for m in poison}
    assert {m.handle.dequeue_count for m in again} == {2}
    # The service's own count, as a dead-lettering consumer (Azure Functions) reads it.
    client = client_for(azurite_queue)

    def all_visible() -> bool:
        return len(client.peek_messages(max_messages=32)) == len(poison_bodies)

    wait_until(all_visible, "the poison messages to come back", timeout=20)
    peeked = client.peek_messages(max_messages=32)
    assert [m.dequeue_count for m in peeked] == [2] * len(poison_bodies)


def test_max_dequeue_moves_poison_to_the_poison_queue(azurite_queue: AzuriteQueue) -> None:
    reader = reader_for(azurite_queue, visibility_timeout=1, poll_interval=0.1, max_dequeue=2)
    body = f"not an event {MARKER}"
    send(azurite_queue, body)

    [first] = receive_at_least(reader, 1)
    assert first.poison is not None and "moved" not in first.poison
    [second] = receive_at_least(reader, 1)
    assert second.poison is not None
    assert f"moved to {azurite_queue.queue}-poison" in second.poison

    assert stored_count(azurite_queue) == 0
    poison_queue = client_for(azurite_queue, f"{azurite_queue.queue}-poison")
    assert [m.content for m in poison_queue.peek_messages(max_messages=32)] == [body]
