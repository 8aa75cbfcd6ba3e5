"""Helpers for the Storage Queue reader tests: a reader on an Azurite queue, and the SDK's own
client to enqueue what Event Grid would write and to look at the queue from outside."""

from __future__ import annotations

import time
from typing import Any

from azure.storage.queue import QueueClient

from dagster_encord.events import ObjectEvent, QueueMessage
from dagster_encord.events.azure_queue import AzureQueueEventReader
from tests.emulators.azure import AzuriteQueue


def reader_for(queue: AzuriteQueue, **options: Any) -> AzureQueueEventReader:
    return AzureQueueEventReader(
        f"azqueue://{queue.account}/{queue.queue}",
        endpoint_url=queue.account_url,
        account_key=queue.account_key,
        **options,
    )


def client_for(queue: AzuriteQueue, name: str | None = None) -> QueueClient:
    return QueueClient.from_connection_string(queue.connection_string, name or queue.queue)


def send(queue: AzuriteQueue, *bodies: str) -> None:
    client = client_for(queue)
    for body in bodies:
        client.send_message(body)


def stored_count(queue: AzuriteQueue, name: str | None = None) -> int:
    """Messages in the queue, the invisible (received, unacknowledged) ones included."""
    return int(client_for(queue, name).get_queue_properties().approximate_message_count or 0)


def receive_at_least(
    reader: AzureQueueEventReader, count: int, timeout: float = 20.0
) -> list[QueueMessage]:
    """Receive until `count` messages have come (redeliveries wait out a visibility timeout)."""
    deadline = time.monotonic() + timeout
    received: list[QueueMessage] = []
    while len(received) < count and time.monotonic() < deadline:
        received += reader.receive(32, wait_seconds=0.5)
    assert len(received) >= count, f"{len(received)} of {count} messages within {timeout} s"
    return received


def events_of(messages: list[QueueMessage]) -> list[ObjectEvent]:
    return [event for message in messages for event in message.events]
