"""The GCS notification format on its own (no queue): what becomes an event, what is poison."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from google.pubsub_v1.types import pubsub

from dagster_encord.events import EventKind, ObjectEvent
from dagster_encord.events.gcs_notifications import parse_gcs_notification
from tests.events.gcs_messages import notification

KEY = "raw/a photo+1 é#2.jpg"  # objectId is the name as is: nothing to URL-decode


def parse(message: pubsub.PubsubMessage, published: datetime | None = None) -> list[ObjectEvent]:
    return parse_gcs_notification(dict(message.attributes), bytes(message.data), published)


def test_finalize_with_the_object_resource() -> None:
    (event,) = parse(notification("OBJECT_FINALIZE", "bkt", KEY, 1700000000123456, size=42))
    assert event.kind is EventKind.CREATED
    assert (event.bucket, event.key, event.generation) == ("bkt", KEY, "1700000000123456")
    assert (event.size, event.content_type) == (42, "image/jpeg")
    assert event.etag is None  # the version is the generation, as GCSSource lists it
    assert event.event_time == datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def test_nanosecond_event_times_and_offsets_become_utc() -> None:
    message = notification("OBJECT_DELETE", "b", "k", 7, event_time="2026-03-01T13:00:00.5+01:00")
    assert parse(message)[0].event_time == datetime(2026, 3, 1, 12, 0, 0, 500000, tzinfo=UTC)
    message = notification(
        "OBJECT_DELETE", "b", "k", 7, event_time="2026-03-01T12:00:00.123456789Z"
    )
    assert parse(message)[0].event_time.microsecond == 123456


def test_missing_event_time_falls_back_to_the_resource_then_the_publish_time() -> None:
    message = notification("OBJECT_FINALIZE", "b", "k", 7, updated="2026-02-01T10:00:00.25Z")
    del message.attributes["eventTime"]
    assert parse(message)[0].event_time == datetime(2026, 2, 1, 10, 0, 0, 250000, tzinfo=UTC)
    message = notification("OBJECT_FINALIZE", "b", "k", 7, payload_format="NONE")
    del message.attributes["eventTime"]
    published = datetime(2026, 1, 2, tzinfo=UTC)
    assert parse(message, published)[0].event_time == published


@pytest.mark.parametrize(
    ("event_type", "overwritten_by", "expected"),
    [
        ("OBJECT_FINALIZE", None, [EventKind.CREATED]),
        ("OBJECT_DELETE", None, [EventKind.DELETED]),
        ("OBJECT_ARCHIVE", None, [EventKind.DELETED]),
        ("OBJECT_DELETE", 8, []),  # the old generation of an overwrite
        ("OBJECT_ARCHIVE", 8, []),  # the same in a versioned bucket
        ("OBJECT_METADATA_UPDATE", None, []),
    ],
)
@pytest.mark.parametrize("payload_format", ["JSON_API_V1", "NONE"])
def test_event_types(
    event_type: str, overwritten_by: int | None, expected: list[EventKind], payload_format: str
) -> None:
    message = notification(
        event_type, "b", "k", 7, payload_format=payload_format, overwritten_by=overwritten_by
    )
    events = parse(message)
    assert [event.kind for event in events] == expected
    for event in events:
        assert event.generation == "7"
        assert (event.size is None) is (payload_format == "NONE")


def _broken(**changes: Any) -> pubsub.PubsubMessage:
    message = notification("OBJECT_FINALIZE", "b", "k", 7)
    for name, value in changes.items():
        if name == "data":
            message.data = value
        elif value is None:
            del message.attributes[name]
        else:
            message.attributes[name] = value
    return message


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (_broken(eventType="OBJECT_RESTORE"), "eventType 'OBJECT_RESTORE'"),
        (_broken(eventType=None), "not a GCS notification"),
        (_broken(objectId=None), "without bucketId or objectId"),
        (_broken(bucketId=""), "without bucketId or objectId"),
        (_broken(payloadFormat="XML"), "unknown payloadFormat"),
        (_broken(data=b"{not json"), "is not JSON"),
        (_broken(data=b"\xff\xfe"), "is not JSON"),
        (_broken(data=b"[1, 2]"), "not a JSON object"),
        (_broken(data=json.dumps({"size": "12kB"}).encode()), "size '12kB'"),
        (_broken(objectGeneration="latest"), "generation 'latest'"),
        (_broken(eventTime="yesterday"), "eventTime 'yesterday'"),
    ],
)
def test_poison(message: pubsub.PubsubMessage, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse(message)
