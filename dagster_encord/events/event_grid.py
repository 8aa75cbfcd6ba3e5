"""Azure Blob events, as Event Grid writes them to a Storage Queue, parsed into `ObjectEvent`s.

Both delivery schemas are read: the Event Grid schema (`eventType`, `eventTime`, `topic`) and
CloudEvents 1.0 (`type`, `time`, `source`), with the same `subject` and `data`. A queue message
holds one event object or a JSON array of them, as plain JSON or base64-encoded (Event Grid's
default). Container and blob name come from the subject, which carries the name as-is (`data.url`
is percent-encoded, and in Microsoft's own samples even names another container). Other event
types (BlobTierChanged, BlobRenamed, DirectoryDeleted, ...) yield no events. No Dagster here.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from dagster_encord.events.base import EventKind, ObjectEvent
from dagster_encord.sources.incremental import as_utc

BLOB_CREATED = "Microsoft.Storage.BlobCreated"
BLOB_DELETED = "Microsoft.Storage.BlobDeleted"
_KINDS = {BLOB_CREATED: EventKind.CREATED, BLOB_DELETED: EventKind.DELETED}
_SUBJECT_PREFIX = "blobServices/default/containers/"
_SUBJECT_FORM = "/blobServices/default/containers/CONTAINER/blobs/NAME"
_ACCOUNT_IN_RESOURCE_ID = re.compile(r"/storageAccounts/([^/]+)", re.IGNORECASE)
_SHOWN = 120  # characters of a field quoted in a poison reason (never the whole body)


class EventParseError(ValueError):
    """Why a queue message is not a blob event (a short reason, safe to log)."""


def parse_blob_events(body: str | bytes) -> list[ObjectEvent]:
    """The blob created/deleted events in one message body; `EventParseError` if unreadable."""
    document = _decode(body)
    items = document if isinstance(document, list) else [document]
    events: list[ObjectEvent] = []
    for index, item in enumerate(items):
        try:
            event = _parse_event(item)
        except EventParseError as error:
            if len(items) == 1:
                raise
            raise EventParseError(f"event {index}: {error}") from None
        if event is not None:
            events.append(event)
    return events


def _decode(body: str | bytes) -> Any:
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError:
        raise EventParseError("body is not UTF-8 text") from None
    text = text.strip().lstrip("\ufeff")
    if not text:
        raise EventParseError("body is empty")
    what = "body"
    if text[0] not in "{[":
        # Base64 never starts with `{` or `[`, and JSON events always do.
        what = "base64 body"
        try:
            text = base64.b64decode(text, validate=True).decode("utf-8").strip().lstrip("\ufeff")
        except (binascii.Error, UnicodeDecodeError):
            raise EventParseError("body is neither JSON nor base64-encoded JSON") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise EventParseError(f"{what} is not valid JSON ({error.msg} at {error.pos})") from None


def _parse_event(item: Any) -> ObjectEvent | None:
    if not isinstance(item, dict):
        raise EventParseError(f"expected an event object, got {type(item).__name__}")
    event_type = item.get("eventType", item.get("type"))
    if not isinstance(event_type, str):
        raise EventParseError("no eventType (Event Grid schema) or type (CloudEvents schema)")
    kind = _KINDS.get(event_type)
    if kind is None:
        return None
    data = item.get("data")
    if not isinstance(data, dict):
        raise EventParseError(f"{event_type}: data is not an object")
    if kind is EventKind.CREATED and data.get("api") == "CreateFile":
        # Data Lake (hierarchical namespace): an empty file; its FlushWithClose event follows.
        return None
    container, name = _split_subject(item.get("subject"))
    return ObjectEvent(
        kind=kind,
        bucket=container,
        key=name,
        event_time=_parse_time(item.get("eventTime", item.get("time"))),
        size=_optional_int(data, "contentLength"),
        etag=_optional_str(data, "eTag", strip='"'),
        sequencer=_optional_str(data, "sequencer"),
        content_type=_optional_str(data, "contentType"),
        account=_account(item, data),
    )


def _split_subject(subject: Any) -> tuple[str, str]:
    """(container, blob name) from `/blobServices/default/containers/C/blobs/NAME`."""
    if not isinstance(subject, str):
        raise EventParseError(f"no subject (expected {_SUBJECT_FORM})")
    # Microsoft's CloudEvents sample writes the subject without its leading slash.
    path = subject.removeprefix("/")
    container, sep, name = path.removeprefix(_SUBJECT_PREFIX).partition("/blobs/")
    valid = path.startswith(_SUBJECT_PREFIX) and sep and container and name
    if not valid or "/" in container:
        raise EventParseError(f"subject {subject[:_SHOWN]!r} is not {_SUBJECT_FORM}")
    return container, name


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise EventParseError("no eventTime (Event Grid schema) or time (CloudEvents schema)")
    try:
        # Azure writes 7 fractional digits (Python 3.11 reads them) and means UTC when it omits Z.
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        raise EventParseError(f"event time {value[:_SHOWN]!r} is not ISO 8601") from None


def _optional_int(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise EventParseError(f"data.{name} is not an integer")
    return value


def _optional_str(data: dict[str, Any], name: str, strip: str = "") -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise EventParseError(f"data.{name} is not a string")
    return value.strip(strip) if strip else value


def _account(item: dict[str, Any], data: dict[str, Any]) -> str | None:
    """The storage account: from the resource id in `source`/`topic`, else `data.url`'s host."""
    resource = item.get("source", item.get("topic"))
    if isinstance(resource, str):
        match = _ACCOUNT_IN_RESOURCE_ID.search(resource)
        if match:
            return match.group(1)
    url = data.get("url")
    if isinstance(url, str):
        host = urlsplit(url).hostname or ""
        # ACCOUNT.blob.core.windows.net or ACCOUNT.dfs.core.windows.net (Data Lake).
        if host.count(".") >= 2:
            return host.split(".", 1)[0]
    return None
