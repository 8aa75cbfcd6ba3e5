"""Bucket events as the pipeline sees them, whatever queue carried them.

A reader receives a batch of queue messages, each parsed into zero or more `ObjectEvent`s (a
test message has none), and later acknowledges the ones the pipeline has recorded. A message it
cannot parse comes back with `poison` set: it is logged and never acknowledged, so the queue's
own dead-letter policy takes it after its retries (SQS maxReceiveCount, Pub/Sub dead-letter
topics, the Azure dequeue count). No Dagster here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class EventKind(StrEnum):
    CREATED = "created"  # created or overwritten (S3 ObjectCreated:*, OBJECT_FINALIZE, BlobCreated)
    DELETED = "deleted"  # S3 ObjectRemoved:*, OBJECT_DELETE / OBJECT_ARCHIVE, BlobDeleted


@dataclass(frozen=True, slots=True)
class ObjectEvent:
    """One object created or deleted. `key` is the bucket key, decoded (S3's are URL-encoded
    with `+` for spaces); `bucket` is the bucket, GCS bucket or Azure container name."""

    kind: EventKind
    bucket: str
    key: str
    event_time: datetime  # timezone-aware UTC
    size: int | None = None
    etag: str | None = None  # S3 eTag / Azure eTag, quotes stripped
    generation: str | None = None  # GCS object generation
    sequencer: str | None = None  # S3 sequencer / Azure sequencer (hex strings, compare as ints)
    content_type: str | None = None
    account: str | None = None  # Azure storage account


@dataclass
class QueueMessage:
    """One message as received: its events, or why it could not be parsed."""

    message_id: str
    events: list[ObjectEvent] = field(default_factory=list)
    poison: str | None = None  # the parse error; such a message is never acknowledged
    handle: Any = None  # what the reader needs to acknowledge it (receipt handle, ack id, ...)


class EventReader(Protocol):
    """A queue of bucket events (`sqs://`, `pubsub://`, `azqueue://`)."""

    url: str

    def receive(self, max_messages: int, wait_seconds: float) -> list[QueueMessage]:
        """Up to `max_messages` messages, waiting at most `wait_seconds` for the first ones."""
        ...

    def acknowledge(self, messages: Sequence[QueueMessage]) -> None:
        """Remove these messages from the queue (the pipeline has recorded their events)."""
        ...

    def close(self) -> None: ...
