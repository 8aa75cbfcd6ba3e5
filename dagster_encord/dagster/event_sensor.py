"""`bucket_events`: the sensor that takes the place of polling when an `events:` section is set.

Each tick, within its time budget: receive messages, record their events in the ledger (one
transaction per batch), plan, and only then acknowledge them. A crash before the acknowledgement
redelivers the messages, which change nothing the second time (the ledger's diff is
idempotent). A message that cannot be parsed is logged with its id and never acknowledged, so
the queue's dead-letter policy takes it. Every chunk waiting in the ledger gets its run request
(run key = chunk id), also on ticks without messages.
"""

# No `from __future__ import annotations`: dagster reads the context annotations at runtime.
import time

import dagster as dg

from dagster_encord.config import EventsSection
from dagster_encord.credentials import redact_url, resolve_env_options
from dagster_encord.dagster.naming import PipelineNames, partition_requests
from dagster_encord.dagster.sensors import SensorOptions, chunk_runs
from dagster_encord.errors import AcknowledgeError
from dagster_encord.events.registry import open_reader
from dagster_encord.pipeline import IngestionSettings
from dagster_encord.pipeline.events import EventOutcome, record_events

RECEIVE_BATCH = 1000


def build_events_sensor(
    names: PipelineNames,
    settings: IngestionSettings,
    events: EventsSection,
    *,
    job_name: str,
    options: SensorOptions,
) -> dg.SensorDefinition:
    queue = redact_url(events.queue)

    @dg.sensor(
        name=names.sensor("bucket_events"),
        job_name=job_name,
        minimum_interval_seconds=options.interval_seconds,
        default_status=options.default_status,
        required_resource_keys={names.ledger_key},
        description=f"Bucket events for {settings.display_url} from {queue}: recorded, planned, "
        "then acknowledged; one run per planned chunk.",
    )
    def bucket_events(context: dg.SensorEvaluationContext, **_bound: object) -> dg.SensorResult:
        ledger = names.ledger(context.resources, settings)
        source = settings.open_source()
        reader = open_reader(events.queue, **resolve_env_options(events.options, "events.options"))
        deadline = time.monotonic() + events.tick_budget_seconds
        outcomes: list[EventOutcome] = []
        poison = 0
        try:
            while time.monotonic() < deadline:
                received = sum(o.messages for o in outcomes) + poison
                wanted = min(RECEIVE_BATCH, events.max_messages_per_tick - received)
                if wanted <= 0:
                    break
                wait = events.wait_seconds if not outcomes and not poison else 0.0
                batch = reader.receive(wanted, wait)
                if not batch:
                    break
                bad = [m for m in batch if m.poison is not None]
                for message in bad:
                    context.log.warning(
                        f"message {message.message_id} from {queue} is not a bucket event "
                        f"({message.poison}); left for the queue's dead-letter policy"
                    )
                poison += len(bad)
                good = [m for m in batch if m.poison is None]
                outcomes.append(record_events(settings, ledger, source, good))
                try:
                    reader.acknowledge(good)  # only after the ledger committed and planned
                except AcknowledgeError as error:
                    # Recorded already: the redelivered messages will change nothing.
                    context.log.warning(f"{queue}: {error}; they will be redelivered")
        finally:
            reader.close()
        waiting, runs = chunk_runs(names, settings, ledger)
        summary = _summary(outcomes, poison)
        return dg.SensorResult(
            run_requests=runs,
            asset_events=[
                dg.AssetMaterialization(asset_key=names.key("bucket_listing"), metadata=summary)
            ]
            if summary["events"]
            else [],
            dynamic_partitions_requests=partition_requests(
                names.partitions, waiting, names.partition_batch_size
            ),
            skip_reason=None if runs else f"{summary['messages']} messages, no chunk waiting",
        )

    return bucket_events


def _summary(outcomes: list[EventOutcome], poison: int) -> dict[str, float | int | bool]:
    return {
        "messages": sum(o.messages for o in outcomes) + poison,
        "events": sum(o.events for o in outcomes),
        "events_ignored": sum(o.ignored for o in outcomes),
        "events_stale": sum(o.diff.stale for o in outcomes),
        "poison_messages": poison,
        "new_files": sum(o.diff.new for o in outcomes),
        "changed_files": sum(o.diff.changed for o in outcomes),
        "deleted_files": sum(o.diff.deleted for o in outcomes),
        "chunks_planned": sum(len(o.plan.chunks) for o in outcomes),
        "seconds": round(sum(o.seconds for o in outcomes), 3),
        "incremental": True,
    }
