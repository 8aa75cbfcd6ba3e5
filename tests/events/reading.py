"""Helpers for the reader tests: poll a reader with a deadline, and list what it parsed."""

from __future__ import annotations

import time
from collections.abc import Callable

from dagster_encord.events import EventKind, EventReader, QueueMessage
from dagster_encord.events.pubsub import PubSubEventReader
from tests.emulators.pubsub import PubSubQueue

BUCKET = "media"
KEY = "raw/a photo+1 é.jpg"  # GCS sends object names as they are: nothing to decode

MakeQueue = Callable[..., PubSubQueue]
MakeReader = Callable[..., PubSubEventReader]


def receive_until(
    reader: EventReader, done: Callable[[list[QueueMessage]], bool], timeout: float = 15.0
) -> list[QueueMessage]:
    """Receive (without acknowledging) until `done(everything so far)`; fail at the deadline."""
    received: list[QueueMessage] = []
    deadline = time.monotonic() + timeout
    while not done(received):
        assert time.monotonic() < deadline, f"gave up after {timeout} s with {len(received)}"
        received += reader.receive(max_messages=1000, wait_seconds=0.5)
    return received


def events(messages: list[QueueMessage]) -> list[tuple[EventKind, str, str | None]]:
    return [(e.kind, e.key, e.generation) for m in messages for e in m.events]
