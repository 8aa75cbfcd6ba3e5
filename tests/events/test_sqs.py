"""The SQS reader against moto's server (the session's `s3_server`, which also serves SQS): S3
delivers its notifications to a real queue, and SNS- and EventBridge-wrapped bodies are sent with
SendMessage as AWS documents them (moto's own EventBridge delivery differs from AWS's: `time`
is a number and the etag field is `eTag`). moto's direct notifications carry no `sequencer`, so
sequencer ordering is shown on the documented bodies.

Waits poll `receive` (itself a long poll) against a deadline; no test sleeps to synchronise.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from dagster_encord.errors import AcknowledgeError
from dagster_encord.events import EventKind, ObjectEvent, QueueMessage
from dagster_encord.events.sqs import SqsReader
from tests.events.aws_bodies import (
    eventbridge_event,
    s3_notification,
    s3_record,
    s3_test_event,
    sns_envelope,
)

ACCOUNT = "123456789012"  # moto's default account


@dataclass(frozen=True)
class Queue:
    endpoint_url: str
    url: str
    arn: str
    sqs: Any  # a plain boto3 client, for setup and for looking behind the reader's back

    def send(self, *bodies: str) -> list[str]:
        return [
            self.sqs.send_message(QueueUrl=self.url, MessageBody=b)["MessageId"] for b in bodies
        ]

    def counts(self) -> tuple[int, int]:
        """(visible, in flight) messages."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return (
            int(attributes["ApproximateNumberOfMessages"]),
            int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        )


MakeQueue = Callable[..., Queue]


@pytest.fixture()
def make_queue(s3_server: str) -> Iterator[MakeQueue]:
    sqs = boto3.client("sqs", endpoint_url=s3_server)
    made: list[str] = []

    def make(**attributes: str) -> Queue:
        name = f"events-{uuid.uuid4().hex[:12]}"
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        made.append(url)
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        return Queue(s3_server, url, arn["QueueArn"], sqs)

    yield make
    for url in made:
        sqs.delete_queue(QueueUrl=url)


@pytest.fixture()
def queue(make_queue: MakeQueue) -> Queue:
    return make_queue(VisibilityTimeout="60")


def notified_bucket(queue: Queue) -> tuple[Any, str]:
    """A fresh bucket whose creations and removals are notified to `queue`."""
    s3 = boto3.client("s3", endpoint_url=queue.endpoint_url)
    bucket = f"events-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {"QueueArn": queue.arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}
            ]
        },
    )
    return s3, bucket


def receive_until(
    reader: SqsReader,
    done: Callable[[list[QueueMessage]], bool],
    what: str,
    timeout: float = 20.0,
) -> list[QueueMessage]:
    """Receive (1 s long polls) until `done(all received so far)`, or fail after `timeout`."""
    received: list[QueueMessage] = []
    deadline = time.monotonic() + timeout
    while not done(received):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s; received {received}")
        received += reader.receive(100, wait_seconds=1)
    return received


def events_of(messages: list[QueueMessage]) -> list[ObjectEvent]:
    return [event for message in messages for event in message.events]


def reader_for(queue: Queue, **options: Any) -> SqsReader:
    return SqsReader(queue.url, **options)


# --- S3 -> SQS through moto ------------------------------------------------------------------


def test_put_overwrite_delete_arrive_as_events(queue: Queue) -> None:
    s3, bucket = notified_bucket(queue)
    odd_key = "folder with space/a+b é 日本 100%.jpg"
    etags = [
        s3.put_object(Bucket=bucket, Key="a.jpg", Body=b"abc")["ETag"].strip('"'),
        s3.put_object(Bucket=bucket, Key="a.jpg", Body=b"abcde")["ETag"].strip('"'),
        s3.put_object(Bucket=bucket, Key=odd_key, Body=b"x" * 7)["ETag"].strip('"'),
    ]
    s3.delete_object(Bucket=bucket, Key="a.jpg")
    reader = reader_for(queue)

    messages = receive_until(reader, lambda got: len(got) == 5, "test event + 4 notifications")

    test_event, *notifications = messages
    assert (test_event.events, test_event.poison) == ([], None)  # handled, not poison
    assert all(len(message.events) == 1 and message.poison is None for message in notifications)
    events = events_of(notifications)
    assert [(e.kind, e.key, e.bucket) for e in events] == [
        (EventKind.CREATED, "a.jpg", bucket),
        (EventKind.CREATED, "a.jpg", bucket),
        (EventKind.CREATED, odd_key, bucket),
        (EventKind.DELETED, "a.jpg", bucket),
    ]
    assert [(e.size, e.etag) for e in events[:3]] == list(zip([3, 5, 7], etags, strict=True))
    assert etags[0] != etags[1]
    times = [e.event_time for e in events]
    assert all(t.utcoffset() is not None for t in times) and times == sorted(times)
    # moto's direct notifications carry no sequencer (AWS's do; see the documented bodies below).
    assert {e.sequencer for e in events} == {None}

    reader.acknowledge(messages)
    assert queue.counts() == (0, 0)
    assert reader.receive(10, wait_seconds=0) == []


def test_acknowledged_messages_are_gone_and_the_rest_come_back(make_queue: MakeQueue) -> None:
    queue = make_queue(VisibilityTimeout="1")
    s3, bucket = notified_bucket(queue)
    for name in ("one.jpg", "two.jpg", "three.jpg"):
        s3.put_object(Bucket=bucket, Key=name, Body=name.encode())
    reader = reader_for(queue)
    first = receive_until(reader, lambda got: len(events_of(got)) == 3, "three notifications")
    kept = next(m for m in first if [e.key for e in m.events] == ["two.jpg"])
    reader.acknowledge([m for m in first if m is not kept])

    again = receive_until(reader, lambda got: len(got) > 0, "the unacknowledged message")

    assert [m.message_id for m in again] == [kept.message_id]
    assert events_of(again) == kept.events
    assert again[0].handle != kept.handle  # a fresh receipt handle
    reader.acknowledge(again)
    assert queue.counts() == (0, 0)


def test_visibility_timeout_option_overrides_the_queue_default(queue: Queue) -> None:
    queue.send(s3_notification(s3_record("k.jpg")))
    reader = reader_for(queue, visibility_timeout=1)  # the queue's own default is 60 s
    [message] = receive_until(reader, lambda got: len(got) == 1, "the message")
    again = receive_until(reader, lambda got: len(got) == 1, "the message after 1 s", timeout=15)
    assert again[0].message_id == message.message_id


def test_receive_pages_by_ten_up_to_max_messages(queue: Queue) -> None:
    for start in range(0, 120, 10):
        queue.sqs.send_message_batch(
            QueueUrl=queue.url,
            Entries=[
                {"Id": str(n), "MessageBody": s3_notification(s3_record(f"k{n:03d}.jpg"))}
                for n in range(start, start + 10)
            ],
        )
    reader = reader_for(queue)

    first = reader.receive(55, wait_seconds=1)
    rest = reader.receive(1000, wait_seconds=1)

    assert len(first) == 55
    keys = sorted(e.key for e in events_of(first + rest))
    assert keys == [f"k{n:03d}.jpg" for n in range(120)]
    reader.acknowledge(first + rest)
    assert queue.counts() == (0, 0)


def test_a_backlog_takes_two_round_trips_and_one_acknowledgement_round(queue: Queue) -> None:
    """100 waiting messages: the long poll, then 10 calls at once (not 10 more in a row); the
    acknowledgement's 10 DeleteMessageBatch calls also go at once."""
    for start in range(0, 100, 10):
        queue.sqs.send_message_batch(
            QueueUrl=queue.url,
            Entries=[
                {"Id": str(n), "MessageBody": s3_notification(s3_record(f"k{n:03d}.jpg"))}
                for n in range(start, start + 10)
            ],
        )
    reader = reader_for(queue)
    lock = threading.Lock()
    in_flight: Counter[str] = Counter()
    started: dict[str, list[int]] = {"ReceiveMessage": [], "DeleteMessageBatch": []}

    def before(model: Any, **_: Any) -> None:
        with lock:
            in_flight[model.name] += 1
            started[model.name].append(in_flight[model.name])  # calls in flight at its start

    def after(model: Any, **_: Any) -> None:
        with lock:
            in_flight[model.name] -= 1

    reader.client.meta.events.register("before-call.sqs.*", before)
    reader.client.meta.events.register("after-call.sqs.*", after)

    messages = reader.receive(1000, wait_seconds=1)
    reader.acknowledge(messages)

    assert sorted(e.key for e in events_of(messages)) == [f"k{n:03d}.jpg" for n in range(100)]
    assert queue.counts() == (0, 0)
    receives, deletes = started["ReceiveMessage"], started["DeleteMessageBatch"]
    # The long poll and a round of 10 (one of them empty, unless the 90 came split unevenly:
    # then one more, empty, call); 10 deletes.
    assert len(receives) in (11, 12) and len(deletes) == 10
    assert receives[0] == 1 and max(receives[1:]) > 1 and max(deletes) > 1


def test_only_the_first_call_long_polls(make_queue: MakeQueue) -> None:
    # The queue's own default is a 20 s long poll; later calls must not use it.
    queue = make_queue(ReceiveMessageWaitTimeSeconds="20", VisibilityTimeout="60")
    queue.send(*[s3_notification(s3_record(f"k{n}.jpg")) for n in range(15)])
    reader = reader_for(queue)

    started = time.monotonic()
    messages = reader.receive(100, wait_seconds=5)
    assert len(messages) == 15
    assert time.monotonic() - started < 4  # 10 + 5 + an empty short poll, no 5 s wait

    started = time.monotonic()
    assert reader.receive(100, wait_seconds=1) == []
    assert 0.9 <= time.monotonic() - started < 10  # one long poll of about 1 s on an empty queue


# --- documented bodies, sent with SendMessage ---------------------------------------------------


def test_sns_wrapped_notifications(queue: Queue) -> None:
    created = s3_record("photos/my+cat+%2B+%C3%A9.jpg", sequencer="0055AED6DCD90281E5")
    deleted = s3_record(
        "photos/my+cat+%2B+%C3%A9.jpg",
        event_name="ObjectRemoved:Delete",
        size=None,
        etag=None,
        sequencer="0055AED6DCD90281F0",
    )
    queue.send(sns_envelope(s3_test_event()), sns_envelope(s3_notification(created, deleted)))
    reader = reader_for(queue)

    test_event, notification = receive_until(reader, lambda got: len(got) == 2, "2 messages")

    assert (test_event.events, test_event.poison) == ([], None)
    assert [(e.kind, e.key, e.size) for e in notification.events] == [
        (EventKind.CREATED, "photos/my cat + é.jpg", 1024),
        (EventKind.DELETED, "photos/my cat + é.jpg", None),
    ]
    # Sequencers are hex strings compared as numbers: the deletion comes after the creation.
    sequencers = [e.sequencer for e in notification.events]
    assert sequencers == ["0055AED6DCD90281E5", "0055AED6DCD90281F0"]
    assert int(sequencers[0] or "", 16) < int(sequencers[1] or "", 16)
    reader.acknowledge([test_event, notification])
    assert queue.counts() == (0, 0)


def test_eventbridge_wrapped_events(queue: Queue) -> None:
    queue.send(
        eventbridge_event("raw key+with %20 plus.jpg", sequencer="617f08299329d189"),
        eventbridge_event("raw key+with %20 plus.jpg", "Object Deleted", sequencer="617f0837b4"),
        eventbridge_event("tagged.jpg", "Object Tags Added"),
    )
    reader = reader_for(queue)

    messages = receive_until(reader, lambda got: len(got) == 3, "3 messages")

    assert all(message.poison is None for message in messages)
    assert [(e.kind, e.key, e.size, e.etag, e.sequencer) for e in events_of(messages)] == [
        (
            EventKind.CREATED,
            "raw key+with %20 plus.jpg",
            5,
            "b1946ac92492d2347c6235b4d2611184",
            "617f08299329d189",
        ),
        (EventKind.DELETED, "raw key+with %20 plus.jpg", None, None, "617f0837b4"),
    ]
    reader.acknowledge(messages)
    assert queue.counts() == (0, 0)


# --- poison, dead letters and failed acknowledgements -----------------------------------------


def test_poison_is_never_acknowledged_and_lands_in_the_dead_letter_queue(
    make_queue: MakeQueue, caplog: pytest.LogCaptureFixture
) -> None:
    dead_letters = make_queue()
    redrive = {"deadLetterTargetArn": dead_letters.arn, "maxReceiveCount": "2"}
    queue = make_queue(VisibilityTimeout="1", RedrivePolicy=json.dumps(redrive))
    poison_body = "secret-looking body that must not be logged {"
    [poison_id, good_id] = queue.send(poison_body, s3_notification(s3_record("ok.jpg")))
    reader = reader_for(queue)
    poison_receipts = 0

    def received_poison(got: list[QueueMessage]) -> bool:
        return any(message.message_id == poison_id for message in got)

    with caplog.at_level(logging.WARNING, logger="dagster_encord.events.sqs"):
        while poison_receipts < 2:
            batch = receive_until(reader, received_poison, f"receipt {poison_receipts + 1}")
            [poison] = [m for m in batch if m.message_id == poison_id]
            assert poison.events == [] and poison.poison
            assert "not JSON" in poison.poison and poison_body not in poison.poison
            reader.acknowledge(batch)  # the whole batch: the poison is skipped, never deleted
            poison_receipts += 1
            if poison_receipts == 1:
                assert [e.key for m in batch if m.message_id == good_id for e in m.events] == [
                    "ok.jpg"
                ]

        # The next receive after the visibility timeout moves it to the dead-letter queue.
        deadline = time.monotonic() + 20
        while dead_letters.counts() == (0, 0):
            assert time.monotonic() < deadline, "the poison message never reached the DLQ"
            assert not received_poison(reader.receive(10, wait_seconds=1))

    assert queue.counts() == (0, 0)  # the good message was acknowledged, the poison moved
    [dead] = dead_letters.sqs.receive_message(QueueUrl=dead_letters.url)["Messages"]
    assert (dead["MessageId"], dead["Body"]) == (poison_id, poison_body)
    assert poison_id in caplog.text and "received 2 times" in caplog.text
    assert poison_body not in caplog.text


def test_acknowledge_names_the_messages_sqs_did_not_delete(queue: Queue) -> None:
    queue.send(*[s3_notification(s3_record(f"k{n}.jpg")) for n in range(12)])
    reader = reader_for(queue)
    messages = receive_until(reader, lambda got: len(got) == 12, "12 messages")
    stale = QueueMessage("not-a-real-message-id", handle="not-a-receipt-handle")

    with pytest.raises(
        AcknowledgeError, match=r"not-a-real-message-id.*ReceiptHandleIsInvalid"
    ) as raised:
        reader.acknowledge([*messages[:5], stale, *messages[5:]])

    assert raised.value.message_ids == ["not-a-real-message-id"]
    assert queue.counts() == (0, 0)  # every real message was still deleted


# --- queue URLs --------------------------------------------------------------------------------


def test_every_url_form_reads_the_same_queue(queue: Queue) -> None:
    name = queue.url.rsplit("/", 1)[1]
    readers = [
        SqsReader(queue.url),
        SqsReader(f"sqs://us-east-1/{ACCOUNT}/{name}", endpoint_url=queue.endpoint_url),
        SqsReader(
            f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/{name}",
            endpoint_url=queue.endpoint_url,
            region="us-east-1",
        ),
    ]
    for reader in readers:
        queue.send(s3_notification(s3_record("k.jpg")))
        assert reader.queue_arn == f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"
        [message] = receive_until(reader, lambda got: len(got) > 0, reader.url, timeout=10)
        reader.acknowledge([message])
        reader.close()
    assert queue.counts() == (0, 0)
