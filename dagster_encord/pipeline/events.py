"""A batch of bucket events into the ledger, then planned: the event path's `ingest_and_plan`.

Only events for the configured source count: its bucket (container), its prefix and its
include/exclude globs, exactly as the listing filters keys; others are acknowledged and ignored.
Several events for one key in a batch collapse to the latest (by S3/Azure sequencer, GCS
generation, else event time). An event without a size (a Pub/Sub NONE payload) is completed by
listing that one key, so the ledger holds what a listing would.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from dagster_encord.events import EventKind, ObjectEvent, QueueMessage
from dagster_encord.ledger import Deletion, EventDiff, Ledger, PlanOutcome
from dagster_encord.pipeline.settings import IngestionSettings
from dagster_encord.pipeline.steps import plan
from dagster_encord.sources import ObjectRecord, Source
from dagster_encord.sources.filters import KeyFilter


@dataclass(frozen=True)
class EventOutcome:
    messages: int
    events: int
    ignored: int  # events for other buckets, prefixes or excluded keys
    diff: EventDiff
    plan: PlanOutcome
    seconds: float


def source_bucket(source: Source) -> str:
    """The bucket (GCS bucket, Azure container) a source lists."""
    for attribute in ("bucket", "bucket_name", "container_name"):
        name = getattr(source, attribute, None)
        if isinstance(name, str):
            return name
    return ""


def _order(event: ObjectEvent) -> tuple[int, int, datetime]:
    sequencer = int(event.sequencer, 16) if event.sequencer else 0
    generation = int(event.generation) if event.generation and event.generation.isdigit() else 0
    return sequencer, generation, event.event_time


def latest_per_key(events: Sequence[ObjectEvent]) -> list[ObjectEvent]:
    latest: dict[str, ObjectEvent] = {}
    for event in events:
        held = latest.get(event.key)
        if held is None or _order(event) >= _order(held):
            latest[event.key] = event
    return list(latest.values())


def record_events(
    settings: IngestionSettings,
    ledger: Ledger,
    source: Source,
    messages: Sequence[QueueMessage],
) -> EventOutcome:
    """Apply the messages' events (poison ones excluded by the caller) and plan."""
    started = time.monotonic()
    root = str(getattr(source, "root_prefix", ""))
    keep = KeyFilter(settings.include, settings.exclude, base=root)
    bucket = source_bucket(source)
    events = [event for message in messages for event in message.events]
    mine = [
        event
        for event in events
        if event.bucket == bucket
        and event.key.startswith(root + settings.prefix)
        and keep(event.key)
    ]
    created: list[ObjectRecord] = []
    deleted: list[Deletion] = []
    for event in latest_per_key(mine):
        if event.kind is EventKind.DELETED:
            deleted.append(Deletion(event.key, event.event_time, event.generation))
            continue
        record = _record(source, root, event)
        if record is not None:
            created.append(record)
    diff = ledger.apply_events(created, deleted, settings.display_url)
    outcome = plan(settings, ledger)
    return EventOutcome(
        len(messages),
        len(events),
        len(events) - len(mine),
        diff,
        outcome,
        time.monotonic() - started,
    )


def _record(source: Source, root: str, event: ObjectEvent) -> ObjectRecord | None:
    if event.size is None:  # attributes only: list the one key for its size and version
        for page in source.list_pages(event.key[len(root) :]):
            for record in page:
                if record.key == event.key:
                    return record
        return None  # gone again since: the deletion's event follows
    return ObjectRecord(
        key=event.key,
        object_url=source.object_url(event.key),
        size=event.size,
        version=event.etag or event.generation,
        last_modified=event.event_time,
        content_type=event.content_type,
    )
