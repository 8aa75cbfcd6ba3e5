"""S3 event notifications as they arrive in an SQS message body -> `ObjectEvent`s.

Three envelopes carry the same news (AWS documents each):
- direct: S3 sends `{"Records": [...]}` to the queue, keys URL-encoded (`+` for a space), or
  `{"Event": "s3:TestEvent", ...}` once when the notification is configured;
- SNS: `{"Type": "Notification", "Message": "<the S3 JSON as a string>"}` (without raw delivery);
- EventBridge: `{"detail-type": "Object Created", "source": "aws.s3", "detail": {...}}`, keys
  NOT encoded.

`parse_body` returns the events, or raises `NotAnS3Event` with a short reason that never quotes
the body (it may be large, or not ours to log). S3 notifications about things the pipeline does
not track (tags, ACLs, restores, storage-class changes) give no events and are not poison: they
are well-formed, and a dead-letter queue full of them would hide the real failures.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from dagster_encord.events.base import EventKind, ObjectEvent

# S3 eventName prefixes (`ObjectCreated:Put`, `ObjectRemoved:DeleteMarkerCreated`, ...).
_RECORD_KINDS = {
    "ObjectCreated": EventKind.CREATED,
    "ObjectRemoved": EventKind.DELETED,
    "LifecycleExpiration": EventKind.DELETED,  # lifecycle deletes the object (or adds a marker)
}
_EVENTBRIDGE_KINDS = {"Object Created": EventKind.CREATED, "Object Deleted": EventKind.DELETED}
_TEST_EVENT = "s3:TestEvent"


class NotAnS3Event(ValueError):
    """A message body that is not an S3 notification in any envelope we know."""


def parse_body(body: str) -> list[ObjectEvent]:
    """The object events in one SQS message body ([] for a test or an untracked event)."""
    return parse_document(_load(body, "the message body"))


def parse_document(document: Any) -> list[ObjectEvent]:
    if not isinstance(document, dict):
        raise NotAnS3Event(f"expected a JSON object, got a JSON {_json_type(document)}")
    if "Records" in document:
        return _records(document["Records"])
    if document.get("Event") == _TEST_EVENT:
        return []
    if "detail-type" in document:
        return _eventbridge(document)
    if "Type" in document and "TopicArn" in document:
        return _sns(document)
    fields = ", ".join(sorted(str(name) for name in document)[:6])
    raise NotAnS3Event(f"not an S3, SNS or EventBridge notification (fields: {fields})")


def _sns(document: Mapping[str, Any]) -> list[ObjectEvent]:
    kind = document.get("Type")
    if kind != "Notification":
        # e.g. a SubscriptionConfirmation for a cross-account subscription: a person must act.
        raise NotAnS3Event(f"SNS message of Type {kind!r}, expected 'Notification'")
    message = document.get("Message")
    if not isinstance(message, str):
        raise NotAnS3Event("SNS notification without a string Message")
    inner = _load(message, "the SNS Message")
    if isinstance(inner, dict) and "Type" in inner and "TopicArn" in inner:
        raise NotAnS3Event("SNS notification wrapping another SNS notification")
    return parse_document(inner)


def _records(records: Any) -> list[ObjectEvent]:
    if not isinstance(records, list):
        raise NotAnS3Event(f"Records: expected a list, got a JSON {_json_type(records)}")
    events = []
    for index, record in enumerate(records):
        try:
            event = _record(record)
        except NotAnS3Event as error:
            raise NotAnS3Event(f"Records[{index}]: {error}") from None
        if event is not None:
            events.append(event)
    return events


def _record(record: Any) -> ObjectEvent | None:
    if not isinstance(record, dict):
        raise NotAnS3Event(f"expected an object, got a JSON {_json_type(record)}")
    source = record.get("eventSource")
    if source != "aws:s3":
        raise NotAnS3Event(f"eventSource {source!r}, expected 'aws:s3'")
    name = _text(record, "eventName")
    kind = _RECORD_KINDS.get(name.partition(":")[0])
    if kind is None:
        return None  # tagging, ACL, restore, replication...: nothing the ledger tracks
    s3 = _object(record, "s3")
    bucket = _object(s3, "bucket", "s3.bucket")
    item = _object(s3, "object", "s3.object")
    return ObjectEvent(
        kind=kind,
        bucket=_text(bucket, "name", "s3.bucket.name"),
        key=unquote_plus(_text(item, "key", "s3.object.key")),  # S3 form-encodes keys here
        event_time=_time(record.get("eventTime"), "eventTime"),
        size=_size(item.get("size"), "s3.object.size"),
        etag=_etag(item.get("eTag")),
        sequencer=_optional_text(item.get("sequencer")),
    )


def _eventbridge(document: Mapping[str, Any]) -> list[ObjectEvent]:
    source = document.get("source")
    if source != "aws.s3":
        raise NotAnS3Event(f"EventBridge event from source {source!r}, expected 'aws.s3'")
    kind = _EVENTBRIDGE_KINDS.get(str(document.get("detail-type")))
    if kind is None:
        return []  # Object Restore / Tags / ACL / Storage Class events: not tracked
    detail = _object(document, "detail")
    bucket = _object(detail, "bucket", "detail.bucket")
    item = _object(detail, "object", "detail.object")
    return [
        ObjectEvent(
            kind=kind,
            bucket=_text(bucket, "name", "detail.bucket.name"),
            key=_text(item, "key", "detail.object.key"),  # EventBridge keys are not encoded
            event_time=_time(document.get("time"), "time"),
            size=_size(item.get("size"), "detail.object.size"),
            # AWS documents `etag`; moto sends `eTag`.
            etag=_etag(item.get("etag", item.get("eTag"))),
            sequencer=_optional_text(item.get("sequencer")),
        )
    ]


# --- fields ----------------------------------------------------------------------------------


def _load(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise NotAnS3Event(
            f"{what} is not JSON ({error.msg} at character {error.pos} of {len(text)})"
        ) from None
    except RecursionError:
        raise NotAnS3Event(f"{what} is JSON nested too deeply to read") from None


def _object(parent: Mapping[str, Any], name: str, path: str | None = None) -> Mapping[str, Any]:
    value = parent.get(name)
    if not isinstance(value, dict):
        raise NotAnS3Event(f"{path or name}: expected an object, got {_json_type(value)}")
    return value


def _text(parent: Mapping[str, Any], name: str, path: str | None = None) -> str:
    value = parent.get(name)
    if not isinstance(value, str) or not value:
        got = "an empty string" if value == "" else _json_type(value)
        raise NotAnS3Event(f"{path or name}: expected a non-empty string, got {got}")
    return value


def _optional_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _size(value: Any, path: str) -> int | None:
    if value is None:
        return None  # ObjectRemoved records carry no size
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise NotAnS3Event(f"{path}: expected a byte count, got {_json_type(value)}")
    return value


def _etag(value: Any) -> str | None:
    return (value.strip('"') or None) if isinstance(value, str) else None


def _time(value: Any, path: str) -> datetime:
    if not isinstance(value, str):
        raise NotAnS3Event(f"{path}: expected an ISO 8601 time, got {_json_type(value)}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise NotAnS3Event(f"{path}: {value[:40]!r} is not an ISO 8601 time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
