"""events: bucket notifications from SQS, Pub/Sub and Azure Storage Queues (no Dagster)."""

from dagster_encord.events.base import EventKind, EventReader, ObjectEvent, QueueMessage

__all__ = ["EventKind", "EventReader", "ObjectEvent", "QueueMessage"]
