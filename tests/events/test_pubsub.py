"""The Pub/Sub reader on a queue, through the real google-cloud-pubsub client, against
tests/emulators/pubsub_server.py (see there why it is not gcloud's emulator). Messages are
published in GCS's notification format (tests/events/gcs_messages.py).

Waiting is always a poll with a deadline on the queue itself (or a blocking Pull, the operation
under test); no test sleeps to synchronise.
"""

from __future__ import annotations

import threading
import time

import pytest
from google.pubsub_v1 import SubscriberClient
from google.pubsub_v1.types import pubsub

from dagster_encord.errors import AcknowledgeError
from dagster_encord.events import EventKind
from dagster_encord.events import pubsub as pubsub_reader
from tests.events.gcs_messages import notification, publish
from tests.events.reading import BUCKET, KEY, MakeQueue, MakeReader, events, receive_until

# --- event types and payloads ---------------------------------------------------------------


@pytest.mark.parametrize("payload_format", ["JSON_API_V1", "NONE"])
def test_finalize_delete_archive_and_metadata_update(
    make_queue: MakeQueue, make_reader: MakeReader, payload_format: str
) -> None:
    queue = make_queue()
    published = [
        notification(t, BUCKET, f"{KEY}-{t}", 1700000000000001, payload_format=payload_format)
        for t in ("OBJECT_FINALIZE", "OBJECT_DELETE", "OBJECT_ARCHIVE", "OBJECT_METADATA_UPDATE")
    ]
    ids = publish(queue.topic, *published)
    reader = make_reader(queue.url)
    messages = receive_until(reader, lambda got: len(got) == 4)
    assert sorted(m.message_id for m in messages) == sorted(ids)
    assert all(m.poison is None for m in messages)
    assert sorted(events(messages)) == [
        (EventKind.CREATED, f"{KEY}-OBJECT_FINALIZE", "1700000000000001"),
        (EventKind.DELETED, f"{KEY}-OBJECT_ARCHIVE", "1700000000000001"),
        (EventKind.DELETED, f"{KEY}-OBJECT_DELETE", "1700000000000001"),
    ]
    created = next(e for m in messages for e in m.events if e.kind is EventKind.CREATED)
    assert created.bucket == BUCKET
    assert created.event_time.tzinfo is not None
    if payload_format == "JSON_API_V1":
        assert (created.size, created.content_type) == (1234, "image/jpeg")
    else:
        assert (created.size, created.content_type) == (None, None)
    assert created.etag is None  # a GCS object's version is its generation
    reader.acknowledge(messages)  # the metadata update too: it has no event but is handled
    assert queue.emulator.backlog(queue.subscription) == 0


@pytest.mark.parametrize("old_generation_event", ["OBJECT_DELETE", "OBJECT_ARCHIVE"])
def test_overwrite_is_a_creation_and_never_a_deletion(
    make_queue: MakeQueue, make_reader: MakeReader, old_generation_event: str
) -> None:
    queue = make_queue()
    # The old generation's delete (archive, if versioned) published first: Pub/Sub does not
    # order them, and a deletion here would drop a key that exists.
    publish(
        queue.topic,
        notification(old_generation_event, BUCKET, KEY, 100, overwritten_by=200),
        notification("OBJECT_FINALIZE", BUCKET, KEY, 200, overwrote=100, size=99),
    )
    reader = make_reader(queue.url)
    messages = receive_until(reader, lambda got: len(got) == 2)
    assert events(messages) == [(EventKind.CREATED, KEY, "200")]
    assert all(m.poison is None for m in messages)
    reader.acknowledge(messages)
    assert queue.emulator.backlog(queue.subscription) == 0


# --- poison ---------------------------------------------------------------------------------


def _poison() -> pubsub.PubsubMessage:
    message = notification("OBJECT_FINALIZE", BUCKET, "bad.jpg", 1)
    message.data = b"{truncated"
    return message


def test_poison_is_redelivered_never_acknowledged_and_dead_lettered(
    make_queue: MakeQueue, make_reader: MakeReader, caplog: pytest.LogCaptureFixture
) -> None:
    # A 60 s ack deadline: every redelivery within the test is the reader's nack at work.
    queue = make_queue(ack_deadline_seconds=60, dead_letter=True)
    poison_id, good_id = publish(
        queue.topic, _poison(), notification("OBJECT_FINALIZE", BUCKET, KEY, 2)
    )
    reader = make_reader(queue.url)
    first = receive_until(reader, lambda got: len(got) == 2)
    by_id = {m.message_id: m for m in first}
    assert by_id[poison_id].poison == "JSON_API_V1 data is not JSON"
    assert by_id[poison_id].events == []
    assert events([by_id[good_id]]) == [(EventKind.CREATED, KEY, "2")]  # not blocked
    assert f"Pub/Sub message {poison_id} on {queue.url} is not a GCS notification" in caplog.text
    reader.acknowledge(first)  # all of them: the reader skips the poison one

    # Nacked, it comes back at once (to the next tick's reader), until the fifth delivery moves
    # it to the dead-letter topic.
    deliveries = [m.message_id for m in first]
    deadline = time.monotonic() + 20
    while queue.emulator.backlog(queue.subscription):
        assert time.monotonic() < deadline, f"poison delivered {deliveries.count(poison_id)}x"
        tick_reader = make_reader(queue.url)
        again = tick_reader.receive(max_messages=10, wait_seconds=0.5)
        assert all(m.poison for m in again)
        tick_reader.acknowledge(again)
        deliveries += [m.message_id for m in again]
    assert deliveries.count(poison_id) == 5
    assert deliveries.count(good_id) == 1

    with SubscriberClient() as subscriber:
        assert queue.dead_letter_subscription
        response = subscriber.pull(
            subscription=queue.dead_letter_subscription, max_messages=10, timeout=5
        )
    (dead,) = response.received_messages
    assert dead.message.data == b"{truncated"
    assert dead.message.attributes["objectId"] == "bad.jpg"
    assert dead.message.attributes["CloudPubSubDeadLetterSourceDeliveryCount"] == "5"


def test_one_reader_returns_a_poison_message_once(
    make_queue: MakeQueue, make_reader: MakeReader
) -> None:
    # A caller receiving until the queue is empty (the sensor's tick) must not spin on it.
    queue = make_queue(ack_deadline_seconds=60)
    (poison_id,) = publish(queue.topic, _poison())
    reader = make_reader(queue.url)
    (first,) = receive_until(reader, lambda got: len(got) == 1)
    assert first.message_id == poison_id and first.poison
    # Nacked, it is delivered again at once, and this time left leased, not returned.
    assert reader.receive(max_messages=10, wait_seconds=2) == []
    assert queue.emulator.backlog(queue.subscription) == 1
    assert reader.receive(max_messages=10, wait_seconds=1) == []  # and leased: not delivered


# --- acknowledgement and redelivery ---------------------------------------------------------


def test_acknowledged_messages_are_gone(make_queue: MakeQueue, make_reader: MakeReader) -> None:
    queue = make_queue(ack_deadline_seconds=3)
    publish(
        queue.topic, *[notification("OBJECT_FINALIZE", BUCKET, f"k{n}", n + 1) for n in range(3)]
    )
    reader = make_reader(queue.url)
    messages = receive_until(reader, lambda got: len(got) == 3)
    reader.acknowledge(messages)
    assert queue.emulator.backlog(queue.subscription) == 0
    # A Pull held open past the 3 s ack deadline: nothing comes back.
    assert reader.receive(max_messages=10, wait_seconds=4) == []


def test_unacknowledged_messages_come_back_after_the_ack_deadline(
    make_queue: MakeQueue, make_reader: MakeReader
) -> None:
    queue = make_queue(ack_deadline_seconds=4)
    ids = publish(
        queue.topic, *[notification("OBJECT_DELETE", BUCKET, f"k{n}", 5) for n in range(2)]
    )
    reader = make_reader(queue.url)
    started = time.monotonic()
    first = receive_until(reader, lambda got: len(got) == 2)
    assert reader.receive(max_messages=10, wait_seconds=0) == []  # still leased

    again = receive_until(reader, lambda got: len(got) == 2)
    assert time.monotonic() - started > 3.9  # leased at `started` at the earliest
    assert sorted(m.message_id for m in again) == sorted(ids)
    assert {m.handle for m in again}.isdisjoint(m.handle for m in first)  # new ack ids
    reader.acknowledge(again)
    assert queue.emulator.backlog(queue.subscription) == 0


def test_refused_acknowledgements_name_their_messages(
    make_queue: MakeQueue, make_reader: MakeReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With exactly-once delivery Pub/Sub refuses an ack id once its message went out again.
    queue = make_queue(ack_deadline_seconds=1, exactly_once=True)
    stale_id, fresh_id = publish(
        queue.topic, *[notification("OBJECT_FINALIZE", BUCKET, f"k{n}", 3) for n in range(2)]
    )
    reader = make_reader(queue.url)
    first = receive_until(reader, lambda got: len(got) == 2)
    again = receive_until(reader, lambda got: len(got) == 2)  # the leases ran out
    stale = next(m for m in first if m.message_id == stale_id)
    fresh = next(m for m in again if m.message_id == fresh_id)
    monkeypatch.setattr(pubsub_reader, "ACK_BATCH", 1)  # one request each
    with pytest.raises(AcknowledgeError) as raised:
        reader.acknowledge([stale, fresh])
    assert raised.value.message_ids == [stale_id]  # the other request went through
    assert "INVALID_ARGUMENT" in str(raised.value)
    assert "ack_deadline_seconds" in str(raised.value)
    assert queue.emulator.backlog(queue.subscription) == 1


def test_ack_deadline_seconds_extends_the_lease(
    make_queue: MakeQueue, make_reader: MakeReader
) -> None:
    queue = make_queue(ack_deadline_seconds=2)
    publish(queue.topic, notification("OBJECT_FINALIZE", BUCKET, KEY, 1))
    reader = make_reader(queue.url, ack_deadline_seconds=120)
    first = receive_until(reader, lambda got: len(got) == 1)
    assert len(first) == 1  # extended before the follow-up Pull, which would see it again
    # Held open past the subscription's 2 s deadline: the extended lease keeps it away.
    assert reader.receive(max_messages=10, wait_seconds=3) == []
    reader.acknowledge(first)
    assert queue.emulator.backlog(queue.subscription) == 0


def test_receive_pulls_again_up_to_max_messages(
    make_queue: MakeQueue, make_reader: MakeReader
) -> None:
    queue = make_queue(ack_deadline_seconds=120)
    keys = [f"burst/{n:05d}.jpg" for n in range(2500)]
    publish(
        queue.topic,
        *[notification("OBJECT_FINALIZE", BUCKET, k, 9, payload_format="NONE") for k in keys],
    )
    reader = make_reader(queue.url)
    first = reader.receive(max_messages=2200, wait_seconds=5)  # a Pull returns at most 1,000
    assert len(first) == 2200
    rest = receive_until(reader, lambda got: len(got) == 300)
    assert sorted(e.key for m in first + rest for e in m.events) == keys
    reader.acknowledge(first + rest)  # in batches of 1,000 ack ids
    assert queue.emulator.backlog(queue.subscription) == 0


def test_receive_waits_for_the_first_message(
    make_queue: MakeQueue, make_reader: MakeReader
) -> None:
    queue = make_queue()
    reader = make_reader(queue.url)
    started = time.monotonic()
    assert reader.receive(max_messages=10, wait_seconds=1.5) == []
    assert 1.4 < time.monotonic() - started < 6

    # Published while the Pull is held open: it returns with it, long before wait_seconds.
    later = threading.Timer(
        0.3, publish, (queue.topic, notification("OBJECT_FINALIZE", BUCKET, KEY, 1))
    )
    later.start()
    started = time.monotonic()
    try:
        messages = reader.receive(max_messages=10, wait_seconds=30)
    finally:
        later.join()
    assert events(messages) == [(EventKind.CREATED, KEY, "1")]
    assert time.monotonic() - started < 10
