"""The pipeline's three sensors. Cursors stay small; the ledger is the source of truth.

- `new_objects`: lists incrementally (watermark + keys at the watermark), diffs into the ledger,
  plans, and requests one run per planned chunk with the chunk id as run key.
- `job_status`: polls submitted jobs (timeout 0, no SDK retries) within a time budget, records
  item uuids and classified unit errors, and relaunches chunks whose run died before finishing
  its POST (write-ahead state `planned`/`submitting` with no live run).
- `retries`: failed files whose backoff passed go back to planning in new chunks; permanent
  failures and exhausted files were already quarantined when their job result was recorded.
"""

# No `from __future__ import annotations`: dagster reads the context annotations at runtime.

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import dagster as dg

from dagster_encord.dagster.assets import listing_metadata
from dagster_encord.dagster.naming import PipelineNames, partition_requests
from dagster_encord.encord_client.jobs import PollCursor
from dagster_encord.errors import CursorError, EncordRateLimitedError
from dagster_encord.ledger import OPEN_CHUNK_STATES, ChunkState, Ledger
from dagster_encord.pipeline import IngestionSettings, steps
from dagster_encord.sources import ListingCursor, ObjectRecord, list_new_pages

_Cursor = TypeVar("_Cursor")

_LIVE_RUN_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


@dataclass(frozen=True)
class SensorOptions:
    """The `sensors:` section as the sensors use it (defaults live in the section only)."""

    interval_seconds: int
    default_status: dg.DefaultSensorStatus
    # A chunk left `planned`/`submitting` with no live run for this long is relaunched.
    heal_after_seconds: float
    # A run "started" this long ago whose chunk is still unsubmitted is taken for dead.
    stale_run_seconds: float
    # The clock the retry sensor compares backoffs against (tests move it forward).
    clock: Callable[[], datetime] | None = None


def read_cursor(
    context: dg.SensorEvaluationContext, parse: Callable[[str | None], _Cursor], fresh: _Cursor
) -> _Cursor:
    """The stored cursor, or `fresh` when it cannot be read (garbage, another version).

    Safe because the ledger de-duplicates: a reset costs a full listing or poll, never a
    duplicate registration. Raising instead would fail every tick until someone cleared it.
    """
    try:
        return parse(context.cursor)
    except CursorError as error:
        shown = (context.cursor or "")[:80]
        context.log.warning(
            f"sensor {context.sensor_name}: cursor {shown!r} unreadable; "
            f"starting from scratch ({error})"
        )
        return fresh


def chunk_runs(
    names: PipelineNames, settings: IngestionSettings, ledger: Ledger
) -> tuple[list[str], list[dg.RunRequest]]:
    """Run requests (run key = chunk id) for every chunk waiting to be submitted."""
    waiting = [chunk.chunk_id for chunk in ledger.chunks_in_state(ChunkState.PLANNED)]
    return waiting, [
        dg.RunRequest(run_key=chunk_id, partition_key=chunk_id, tags={"encord/chunk": chunk_id})
        for chunk_id in waiting
    ]


def build_sensors(
    names: PipelineNames,
    settings: IngestionSettings,
    *,
    job_name: str,
    options: SensorOptions,
) -> list[dg.SensorDefinition]:
    registered_key = names.key("registered_files")

    @dg.sensor(
        name=names.sensor("new_objects"),
        job_name=job_name,
        minimum_interval_seconds=options.interval_seconds,
        default_status=options.default_status,
        required_resource_keys={names.ledger_key},
        description=f"New objects under {settings.display_url}: one run per planned chunk.",
    )
    def new_objects(context: dg.SensorEvaluationContext, **_bound: object) -> dg.SensorResult:
        ledger = names.ledger(context.resources, settings)
        cursor = read_cursor(context, ListingCursor.from_json, ListingCursor())
        source = settings.open_source()
        seen: list[int] = [0]

        def pages() -> Iterator[list[ObjectRecord]]:
            nonlocal cursor
            for page in list_new_pages(
                source,
                cursor,
                settings.prefix,
                include=settings.include,
                exclude=settings.exclude,
                page_size=settings.page_size,
            ):
                cursor = cursor.advance(page)
                seen[0] += len(page)
                yield page

        result = steps.ingest_and_plan(settings, ledger, pages(), complete=False)
        waiting, runs = chunk_runs(names, settings, ledger)
        # The sensor did the asset's work for the new objects: show it on `bucket_listing`.
        events = (
            [
                dg.AssetMaterialization(
                    asset_key=names.key("bucket_listing"),
                    metadata={
                        **listing_metadata(result, settings.display_url),
                        "incremental": True,
                    },
                )
            ]
            if seen[0]
            else []
        )
        return dg.SensorResult(
            run_requests=runs,
            asset_events=events,
            dynamic_partitions_requests=partition_requests(
                names.partitions, waiting, names.partition_batch_size
            ),
            cursor=cursor.to_json(),
            skip_reason=None if runs else f"{seen[0]} new objects, no chunk waiting",
        )

    @dg.sensor(
        name=names.sensor("job_status"),
        job_name=job_name,
        minimum_interval_seconds=options.interval_seconds,
        default_status=options.default_status,
        required_resource_keys={names.ledger_key, names.encord_key},
        description="Polls submitted upload jobs and records their items and errors.",
    )
    def job_status(context: dg.SensorEvaluationContext, **_bound: object) -> dg.SensorResult:
        ledger = names.ledger(context.resources, settings)
        state = read_cursor(context, PollCursor.from_json, PollCursor())
        events: list[dg.AssetMaterialization] = []
        note = ""
        if time.time() < state.not_before:
            note = "rate limited; waiting for Retry-After"
        elif ledger.chunks_in_state(ChunkState.SUBMITTED):
            # No SDK retries here: a 429's Retry-After would be slept through, past the budget.
            client = names.client(
                context.resources,
                max_retries=0,
                timeout_seconds=math.ceil(settings.poll_budget_seconds),
            )
            try:
                report = steps.poll_submitted(
                    client, ledger, settings, budget_seconds=settings.poll_budget_seconds
                )
            except EncordRateLimitedError as error:
                report = steps.PollReport(rate_limited=True, retry_after=error.retry_after)
            for chunk_id, outcome in report.finished.items():
                events.append(
                    dg.AssetMaterialization(
                        asset_key=registered_key,
                        partition=chunk_id,
                        metadata={
                            "registered": outcome.registered,
                            "failures": outcome.failed,
                            "quarantined": outcome.quarantined,
                            "unaccounted": outcome.unaccounted,
                        },
                    )
                )
            state = PollCursor(
                time.time() + (report.retry_after or 10.0) if report.rate_limited else 0.0
            )
            note = f"{len(report.finished)} jobs finished, {len(report.pending)} pending" + (
                " (rate limited)" if report.rate_limited else ""
            )
        runs = _heal_requests(context, names, ledger, options, settings.max_attempts)
        return dg.SensorResult(
            run_requests=runs,
            asset_events=events,
            cursor=state.to_json(),
            skip_reason=None if runs or events else (note or "no submitted jobs"),
        )

    @dg.sensor(
        name=names.sensor("retries"),
        job_name=job_name,
        minimum_interval_seconds=options.interval_seconds,
        default_status=options.default_status,
        required_resource_keys={names.ledger_key},
        description="Failed files whose backoff passed: re-planned into new chunks.",
    )
    def retries(context: dg.SensorEvaluationContext, **_bound: object) -> dg.SensorResult:
        ledger = names.ledger(context.resources, settings)
        now = options.clock() if options.clock else None
        requeued = ledger.requeue(now=now)
        if requeued:
            steps.plan(settings, ledger)
        waiting, runs = chunk_runs(names, settings, ledger)
        return dg.SensorResult(
            run_requests=runs,
            dynamic_partitions_requests=partition_requests(
                names.partitions, waiting, names.partition_batch_size
            ),
            skip_reason=None if runs else "no failed file is due for a retry",
        )

    # With an `events:` section the bucket_events sensor (event_sensor.py) replaces polling.
    polling = [new_objects] if settings.config.events is None else []
    return [*polling, job_status, retries]


def _heal_requests(
    context: dg.SensorEvaluationContext,
    names: PipelineNames,
    ledger: Ledger,
    options: SensorOptions,
    max_runs: int,
) -> Sequence[dg.RunRequest]:
    """Relaunch chunks stuck in `planned`/`submitting` whose runs are dead.

    A run is dead when it ended, or when it has been "started" for `stale_run_seconds` while its
    chunk was never submitted: a SIGKILLed run worker never reports its end, and the default run
    launcher cannot check its health. Relaunching a run that is in fact alive is safe: both POST
    the same chunk with `skip_duplicate_urls`.

    The chunk id run key is spent, so the new key counts the runs already made. After `max_runs`
    dead runs a chunk is left alone (pending in `status` and in the reconciliation check).
    """
    requests: list[dg.RunRequest] = []
    now = time.time()
    for chunk in ledger.chunks_in_state(*OPEN_CHUNK_STATES):
        runs = context.instance.get_runs(
            filters=dg.RunsFilter(
                job_name=names.chunk_job, tags={"dagster/partition": chunk.chunk_id}
            )
        )
        if not runs:
            continue  # never launched: new_objects launches it
        records = [context.instance.get_run_record_by_id(run.run_id) for run in runs]
        ended_at: list[float] = []
        alive = False
        for run, record in zip(runs, records, strict=True):
            if run.status not in _LIVE_RUN_STATUSES:
                ended_at.append((record.end_time or 0.0) if record else 0.0)
            elif (
                record is not None
                and record.start_time is not None
                and (now - record.start_time > options.stale_run_seconds)
            ):
                ended_at.append(record.start_time + options.stale_run_seconds)
            else:
                alive = True
        if alive or now - max(ended_at) < options.heal_after_seconds:
            continue
        if len(runs) >= max_runs:
            context.log.warning(
                f"chunk {chunk.chunk_id}: {len(runs)} runs ended without submitting it; "
                "not relaunching (see the failed runs' logs)"
            )
            continue
        requests.append(
            dg.RunRequest(
                run_key=f"{chunk.chunk_id}#{len(runs) + 1}",
                partition_key=chunk.chunk_id,
                tags={"encord/chunk": chunk.chunk_id, "encord/healed": "true"},
            )
        )
    return requests
