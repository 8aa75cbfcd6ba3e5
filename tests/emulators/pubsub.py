"""Pub/Sub fixtures: the in-memory server of `tests.emulators.pubsub_server` (see there why it is
not gcloud's emulator), in this process on a free port of 127.0.0.1.

- `pubsub_emulator` (session): the running server (`.host`, `.backlog()`, `.deny()`).
- `pubsub_host` (function): the same, with PUBSUB_EMULATOR_HOST pointing at it.
- `make_queue` (function): `make_queue(ack_deadline_seconds=10, dead_letter=False,
  exactly_once=False)` creates a topic and its pull subscription (and a dead-letter topic with
  its own subscription, after 5 deliveries) through the real client, under fresh names.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from google.pubsub_v1 import PublisherClient, SubscriberClient
from google.pubsub_v1.types import pubsub

from tests.emulators.pubsub_server import PubSubEmulator

__all__ = ["PubSubEmulator", "PubSubQueue", "make_queue", "pubsub_emulator", "pubsub_host"]


@dataclass(frozen=True)
class PubSubQueue:
    """A topic and its pull subscription; `url` is what the reader takes."""

    emulator: PubSubEmulator
    topic: str
    subscription: str
    dead_letter_subscription: str | None

    @property
    def url(self) -> str:
        _, project, _, name = self.subscription.split("/")
        return f"pubsub://{project}/subscriptions/{name}"


@pytest.fixture(scope="session")
def pubsub_emulator() -> Iterator[PubSubEmulator]:
    emulator = PubSubEmulator()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture()
def pubsub_host(pubsub_emulator: PubSubEmulator, monkeypatch: pytest.MonkeyPatch) -> PubSubEmulator:
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_emulator.host)
    return pubsub_emulator


@pytest.fixture()
def make_queue(pubsub_host: PubSubEmulator) -> Callable[..., PubSubQueue]:
    """`make_queue(ack_deadline_seconds=10, dead_letter=False, exactly_once=False)`: fresh
    names each call."""

    def make(
        ack_deadline_seconds: int = 10, dead_letter: bool = False, exactly_once: bool = False
    ) -> PubSubQueue:
        base = f"projects/test-project/%s/events-{uuid.uuid4().hex[:12]}"
        topic, subscription = base % "topics", base % "subscriptions"
        policy = None
        with PublisherClient() as publisher, SubscriberClient() as subscriber:
            publisher.create_topic(name=topic)
            if dead_letter:
                policy = pubsub.DeadLetterPolicy(
                    dead_letter_topic=publisher.create_topic(name=f"{topic}-dead").name,
                    max_delivery_attempts=5,
                )
                subscriber.create_subscription(name=f"{subscription}-dead", topic=f"{topic}-dead")
            subscriber.create_subscription(
                request=pubsub.Subscription(
                    name=subscription,
                    topic=topic,
                    ack_deadline_seconds=ack_deadline_seconds,
                    dead_letter_policy=policy,
                    enable_exactly_once_delivery=exactly_once,
                )
            )
        dead = f"{subscription}-dead" if dead_letter else None
        return PubSubQueue(pubsub_host, topic, subscription, dead)

    return make
