"""GCS Pub/Sub notifications read as `ObjectEvent`s (no transport here: see `events/pubsub.py`).

The format (https://cloud.google.com/storage/docs/pubsub-notifications): the attributes
`eventType`, `bucketId`, `objectId`, `objectGeneration`, `eventTime` and `payloadFormat`; with
`JSON_API_V1` the data is the object's JSON API resource (`size`, `generation`, `contentType`,
`updated`, `md5Hash`, `etag`, ...), with `NONE` there is no data and the attributes are
all there is. `objectId` is the object name as is (GCS does not URL-encode it here).

- `OBJECT_FINALIZE` is a creation: a new object, or a new generation replacing an older one.
- `OBJECT_DELETE` and `OBJECT_ARCHIVE` (a versioned bucket keeps the old generation as
  noncurrent) are deletions, *except* with an `overwrittenByGeneration` attribute: then the old
  generation is making way for a new one, whose own `OBJECT_FINALIZE` announces the key's new
  content. Such a message has no event. Reported as a deletion, it could arrive before that
  finalize (Pub/Sub does not order them) and delete a key that still exists.
- `OBJECT_METADATA_UPDATE` has no event: content and generation are unchanged.

The version of a GCS object is its generation, as `GCSSource` lists it: events carry it in
`generation` and leave `etag` empty (the JSON API etag changes with metadata updates too, and a
version that differed from the listing's would make every reconciled file look changed).

A deletion carries the generation it removed. In a versioned bucket, removing a noncurrent
generation (by a lifecycle rule, say) sends `OBJECT_DELETE` without `overwrittenByGeneration`
for a key whose live generation is newer: consumers must ignore a deletion of an older
generation than the one they hold (issue 12's ordering rule), as for any stale event.

Anything else (an unknown `eventType` or `payloadFormat`, no `bucketId`/`objectId`, data that
is not a JSON object, a bad size, generation or time) raises `ValueError` with a short reason:
the message is poison.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dagster_encord.events.base import EventKind, ObjectEvent
from dagster_encord.sources.incremental import as_utc

# None: a known event type that changes nothing the pipeline tracks.
EVENT_KINDS: dict[str, EventKind | None] = {
    "OBJECT_FINALIZE": EventKind.CREATED,
    "OBJECT_DELETE": EventKind.DELETED,
    "OBJECT_ARCHIVE": EventKind.DELETED,
    "OBJECT_METADATA_UPDATE": None,
}
PAYLOAD_FORMATS = ("JSON_API_V1", "NONE")


def parse_gcs_notification(
    attributes: Mapping[str, str], data: bytes, published: datetime | None = None
) -> list[ObjectEvent]:
    """The events in one notification (none or one); `ValueError` if it is not one.

    `published` (the Pub/Sub publish time) stands in for a missing `eventTime`.
    """
    event_type = attributes.get("eventType")
    if event_type not in EVENT_KINDS:
        raise ValueError(f"not a GCS notification: eventType {event_type!r}")
    kind = EVENT_KINDS[event_type]
    if kind is None or (kind is EventKind.DELETED and attributes.get("overwrittenByGeneration")):
        return []
    bucket, key = attributes.get("bucketId"), attributes.get("objectId")
    if not bucket or not key:
        raise ValueError(f"{event_type} without bucketId or objectId")
    resource = _resource(attributes.get("payloadFormat"), data)
    return [
        ObjectEvent(
            kind=kind,
            bucket=bucket,
            key=key,
            event_time=_event_time(attributes.get("eventTime"), resource, published),
            size=_integer(resource.get("size"), "size"),
            generation=_generation(
                attributes.get("objectGeneration") or resource.get("generation")
            ),
            content_type=_text(resource.get("contentType")),
        )
    ]


def _resource(payload_format: str | None, data: bytes) -> dict[str, Any]:
    """The object resource of a JSON_API_V1 payload; empty for NONE."""
    if payload_format is None:  # always sent by GCS; tell by the data if a relay dropped it
        payload_format = "JSON_API_V1" if data else "NONE"
    if payload_format not in PAYLOAD_FORMATS:
        raise ValueError(f"unknown payloadFormat {payload_format!r}")
    if payload_format == "NONE":
        return {}
    try:
        resource = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("JSON_API_V1 data is not JSON") from None
    if not isinstance(resource, dict):
        raise ValueError("JSON_API_V1 data is not a JSON object")
    return resource


def _event_time(text: str | None, resource: dict[str, Any], published: datetime | None) -> datetime:
    text = text or _text(resource.get("updated"))
    if text is None:
        if published is None:
            raise ValueError("no eventTime")
        return as_utc(published)
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        raise ValueError(f"eventTime {text[:40]!r} is not RFC 3339") from None


def _integer(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    raise ValueError(f"{name} {str(value)[:40]!r} is not a whole number")


def _generation(value: Any) -> str | None:
    # Kept as the decimal string GCS sends (and GCSSource stores as the version).
    number = _integer(value, "generation")
    return None if number is None else str(number)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
