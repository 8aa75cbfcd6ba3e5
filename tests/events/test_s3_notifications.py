"""The S3 notification parser on AWS's documented bodies, and on bodies that must be poison.
(The same bodies go through a real SQS queue in test_sqs.py.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from dagster_encord.events import EventKind, ObjectEvent
from dagster_encord.events.s3_notifications import NotAnS3Event, parse_body
from tests.events.aws_bodies import (
    eventbridge_event,
    s3_notification,
    s3_record,
    s3_test_event,
    sns_envelope,
)


def test_direct_notification_as_documented() -> None:
    [event] = parse_body(s3_notification(s3_record("HappyFace.jpg")))
    assert event == ObjectEvent(
        kind=EventKind.CREATED,
        bucket="amzn-s3-demo-bucket",
        key="HappyFace.jpg",
        event_time=datetime(1970, 1, 1, tzinfo=UTC),
        size=1024,
        etag="d41d8cd98f00b204e9800998ecf8427e",
        sequencer="0055AED6DCD90281E5",
    )


@pytest.mark.parametrize(
    ("encoded", "key"),
    [
        ("folder+with+space/a%2Bb+%C3%A9.jpg", "folder with space/a+b é.jpg"),
        ("100%25+done.png", "100% done.png"),
        ("a%2Fb/c.jpg", "a/b/c.jpg"),  # moto encodes '/', AWS does not: both decode the same
    ],
)
def test_direct_keys_are_url_decoded(encoded: str, key: str) -> None:
    [event] = parse_body(s3_notification(s3_record(encoded)))
    assert event.key == key


@pytest.mark.parametrize(
    ("event_name", "kind"),
    [
        ("ObjectCreated:Put", EventKind.CREATED),
        ("ObjectCreated:CompleteMultipartUpload", EventKind.CREATED),
        ("ObjectCreated:Copy", EventKind.CREATED),
        ("ObjectRemoved:Delete", EventKind.DELETED),
        ("ObjectRemoved:DeleteMarkerCreated", EventKind.DELETED),
        ("LifecycleExpiration:Delete", EventKind.DELETED),
    ],
)
def test_event_names(event_name: str, kind: EventKind) -> None:
    [event] = parse_body(s3_notification(s3_record("k", event_name=event_name)))
    assert event.kind is kind


def test_untracked_s3_events_give_nothing_and_are_not_poison() -> None:
    body = s3_notification(
        s3_record("a", event_name="ObjectTagging:Put"),
        s3_record("b", event_name="ObjectRestore:Completed"),
        s3_record("c", event_name="ObjectRemoved:Delete", size=None, etag=None),
    )
    [event] = parse_body(body)
    assert (event.key, event.kind, event.size, event.etag) == ("c", EventKind.DELETED, None, None)


def test_test_event_has_no_events() -> None:
    assert parse_body(s3_test_event()) == []
    assert parse_body(sns_envelope(s3_test_event())) == []


def test_sns_wrapped() -> None:
    inner = s3_notification(s3_record("photos/my+cat.jpg", sequencer="0A"))
    [event] = parse_body(sns_envelope(inner))
    assert (event.key, event.sequencer) == ("photos/my cat.jpg", "0A")


def test_eventbridge_keys_are_not_decoded() -> None:
    [created] = parse_body(eventbridge_event("photos/a+b c%20d.jpg"))
    assert created == ObjectEvent(
        kind=EventKind.CREATED,
        bucket="amzn-s3-demo-bucket1",
        key="photos/a+b c%20d.jpg",
        event_time=datetime(2021, 11, 12, tzinfo=UTC),
        size=5,
        etag="b1946ac92492d2347c6235b4d2611184",
        sequencer="617f08299329d189",
    )
    [deleted] = parse_body(eventbridge_event("k", "Object Deleted", sequencer="617f0837b476e463"))
    assert (deleted.kind, deleted.size, deleted.etag) == (EventKind.DELETED, None, None)
    assert parse_body(eventbridge_event("k", "Object Tags Added")) == []


SECRET_LOOKING = "do-not-echo-this-body"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (f"{SECRET_LOOKING} {{", r"the message body is not JSON \(Expecting value at character 0"),
        (json.dumps([SECRET_LOOKING]), "expected a JSON object, got a JSON array"),
        (json.dumps({"hello": SECRET_LOOKING}), r"not an S3, SNS or EventBridge.*fields: hello"),
        (json.dumps({"Records": SECRET_LOOKING}), "Records: expected a list, got a JSON string"),
        (
            s3_notification(s3_record("ok"), {**s3_record("x"), "eventSource": "aws:sns"}),
            r"Records\[1\]: eventSource 'aws:sns', expected 'aws:s3'",
        ),
        (
            s3_notification({**s3_record("x"), "s3": {"bucket": {"name": "b"}}}),
            r"Records\[0\]: s3.object: expected an object, got null",
        ),
        (s3_notification(s3_record("")), r"s3.object.key: expected a non-empty string"),
        (
            s3_notification(s3_record("k", event_time="yesterday")),
            "eventTime: 'yesterday' is not an ISO 8601 time",
        ),
        (
            s3_notification({**s3_record("k"), "s3": {**s3_record("k")["s3"], "object": {}}}),
            "s3.object.key: expected a non-empty string, got null",
        ),
        (sns_envelope(SECRET_LOOKING), "the SNS Message is not JSON"),
        (
            sns_envelope(s3_test_event(), "SubscriptionConfirmation"),
            "SNS message of Type 'SubscriptionConfirmation'",
        ),
        (
            json.dumps({**json.loads(eventbridge_event("k")), "source": "aws.ec2"}),
            "EventBridge event from source 'aws.ec2'",
        ),
        ("[" * 100_000, "nested too deeply|not JSON"),
    ],
)
def test_poison_reasons_are_short_and_never_quote_the_body(body: str, reason: str) -> None:
    with pytest.raises(NotAnS3Event, match=reason) as raised:
        parse_body(body)
    assert SECRET_LOOKING not in str(raised.value)
    assert len(str(raised.value)) < 200
