"""The pipeline's steps as plain functions, shared by assets, sensors, `run` and the benchmarks.

No Dagster here: each step takes the ledger, the source and the Encord client and does one thing.
- `ingest_and_plan`: listing pages -> ledger diff -> persisted chunks.
- `write_manifest`: a chunk's manifest to the manifest location.
- `submit_chunk`: write-ahead (`mark_submitting`), POST, `mark_submitted`. A chunk found in
  `submitting` is resubmitted: `skip_duplicate_urls` makes that safe.
- `apply_job_state` / `wait_for_chunk` / `poll_submitted`: job results into the ledger.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlparse

from dagster_encord.encord_client.client import EncordClient, is_uuid
from dagster_encord.encord_client.jobs import JobState
from dagster_encord.ledger import (
    OPEN_CHUNK_STATES,
    ChunkState,
    DiffSummary,
    JobOutcome,
    Ledger,
    PlanOutcome,
    StoredChunk,
)
from dagster_encord.pipeline.settings import IngestionSettings
from dagster_encord.planner.manifest import MANIFEST_KEYS
from dagster_encord.sources import ObjectRecord, open_source


@dataclass(frozen=True)
class IngestResult:
    diff: DiffSummary
    plan: PlanOutcome
    listed_bytes: int
    seconds: float


def ingest_and_plan(
    settings: IngestionSettings,
    ledger: Ledger,
    pages: Iterable[Sequence[ObjectRecord]],
    *,
    complete: bool,
) -> IngestResult:
    """Diff a listing into the ledger and plan every discovered file into chunks."""
    started = time.monotonic()
    listed_bytes = 0

    def counted() -> Iterable[Sequence[ObjectRecord]]:
        nonlocal listed_bytes
        is_metadata = settings.is_metadata_object
        for page in pages:
            data = (
                [record for record in page if not is_metadata(record.key)] if is_metadata else page
            )
            listed_bytes += sum(record.size for record in data)
            yield data

    diff = ledger.ingest(counted(), settings.display_url, complete=complete)
    outcome = plan(settings, ledger)
    return IngestResult(diff, outcome, listed_bytes, time.monotonic() - started)


def plan(settings: IngestionSettings, ledger: Ledger) -> PlanOutcome:
    """Plan every discovered file into persisted chunks, with inline metadata when configured."""
    return ledger.plan(
        settings.planner,
        metadata_for=settings.metadata_for,
        group_metadata_for=settings.group_metadata_for,
    )


def write_manifest(settings: IngestionSettings, chunk: StoredChunk, default_root: str) -> str:
    """Write the chunk's manifest (JSON or CSV) and return its URL."""
    root = settings.manifest_url or default_root
    target = open_source(root)
    suffix = "json" if chunk.format == "json" else "csv"
    content_type = "application/json" if suffix == "json" else "text/csv"
    key = f"{settings.name}/{chunk.chunk_id}.{suffix}"
    return target.write_bytes(key, chunk.manifest.encode("utf-8"), content_type)


@dataclass(frozen=True)
class Submission:
    chunk_id: str
    upload_job_id: str
    resubmitted: bool
    seconds: float
    posted: bool


def submit_chunk(
    client: EncordClient,
    ledger: Ledger,
    settings: IngestionSettings,
    chunk_id: str,
    integration_uuid: str,
) -> Submission:
    """Submit one chunk, idempotently.

    Already submitted or completed: nothing is POSTed. Planned: write-ahead, POST, save the job
    id. Submitting (a crash came between the POST and saving the id): POSTed again; Encord skips
    the URLs the lost job already registered and reports their existing items.
    """
    started = time.monotonic()
    current = ledger.chunk(chunk_id)
    if current.state not in OPEN_CHUNK_STATES:
        return Submission(chunk_id, current.upload_job_id or "", False, 0.0, posted=False)
    resubmitted = current.state == ChunkState.SUBMITTING
    chunk = ledger.mark_submitting(chunk_id)
    job_id = client.start_upload_job(settings.folder, integration_uuid, chunk.manifest_payload())
    ledger.mark_submitted(chunk_id, job_id)
    return Submission(chunk_id, job_id, resubmitted, time.monotonic() - started, posted=True)


def resolve_integration_uuid(client: EncordClient, integration: str) -> str:
    """A uuid is used as given (no request); a title is looked up once."""
    if is_uuid(integration):
        return integration
    return client.resolve_integration(integration).integration_uuid


def _titles(manifest: Mapping[str, Any]) -> dict[str, list[list[str]]]:
    """Item name -> the URL lists of the manifest entries registered under that name."""
    names: dict[str, list[list[str]]] = {}
    for array_key in set(MANIFEST_KEYS.values()):
        for entry in manifest.get(array_key, ()):
            if "objectUrl" in entry:
                urls = [entry["objectUrl"]]
            else:
                numbered = sorted(
                    (int(key.rpartition("_")[2]), value)
                    for key, value in entry.items()
                    if key.startswith("objectUrl_")
                )
                urls = [value for _, value in numbered]
            if not urls:
                continue
            title = entry.get("title") or unquote(urlparse(urls[0]).path) or urls[0]
            names.setdefault(title, []).append(urls)
    return names


def apply_job_state(
    client: EncordClient, ledger: Ledger, folder: str, chunk_id: str, state: JobState
) -> JobOutcome:
    """Record a job's items and unit errors in the ledger (complete once the job finished).

    A resubmitted chunk's job may not report the items its lost predecessor created (Encord
    skips duplicate URLs); files it leaves unaccounted are looked up in the folder by URL before
    anything is counted as failed.
    """
    chunk = ledger.chunk(chunk_id)
    names = _titles(chunk.manifest_payload()) if chunk.format == "json" else {}
    registered: dict[str, str] = {}
    unresolved: list[str] = []
    for item in state.items:
        candidates = names.get(item.name, [])
        if len(candidates) == 1:
            for url in candidates[0]:
                registered[url] = item.item_uuid
        else:
            unresolved.append(item.item_uuid)
    if unresolved:
        # Titles shared by several entries: ask Encord for the items' URLs.
        for item_uuid, object_url in client.item_urls(unresolved).items():
            if object_url:
                registered[object_url] = item_uuid
    failed = {
        url: (failure.kind, failure.error)
        for failure in state.failures
        for url in failure.object_urls
    }
    if state.finished and chunk.submit_attempts > 1:
        unaccounted = {
            url
            for url in ledger.chunk_object_urls(chunk_id)
            if url not in registered and url not in failed
        }
        if unaccounted:
            for found in client.iter_folder_items(folder):
                if found.url in unaccounted:
                    registered[found.url] = found.item_uuid
    if state.status == "CANCELLED":
        for url in ledger.chunk_object_urls(chunk_id):
            if url not in registered and url not in failed:
                failed[url] = ("transient", f"upload job {state.upload_job_id} was cancelled")
    return ledger.record_job_result(
        chunk_id, registered=registered, failed=failed, complete=state.finished
    )


@dataclass
class PollReport:
    """What one pass over submitted chunks did."""

    finished: dict[str, JobOutcome] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)
    rate_limited: bool = False
    retry_after: float | None = None
    out_of_time: bool = False


def poll_submitted(
    client: EncordClient,
    ledger: Ledger,
    settings: IngestionSettings,
    *,
    budget_seconds: float,
    only: Sequence[str] | None = None,
) -> PollReport:
    """Poll every submitted chunk once (timeout 0) and return within the time budget.

    Each poll runs on a worker thread and is abandoned at the deadline: the SDK's own poll loop
    sleeps 10 s after a failed request, which must not hold a sensor tick past its limit. Stops at
    the first 429 (every later poll would be refused too); the rest wait for the next call.
    """
    deadline = time.monotonic() + budget_seconds
    report = PollReport()
    submitted = [
        chunk for chunk in ledger.chunks_in_state(ChunkState.SUBMITTED) if chunk.upload_job_id
    ]
    if only is not None:
        wanted = set(only)
        submitted = [chunk for chunk in submitted if chunk.chunk_id in wanted]
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="encord-poll")
    try:
        for chunk in submitted:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or report.rate_limited:
                report.out_of_time = report.out_of_time or remaining <= 0
                report.pending.append(chunk.chunk_id)
                continue
            assert chunk.upload_job_id is not None
            future = pool.submit(client.poll_upload_job, settings.folder, chunk.upload_job_id)
            try:
                state = future.result(timeout=remaining)
            except FutureTimeout:
                report.out_of_time = True
                report.pending.append(chunk.chunk_id)
                continue
            if state.rate_limited:
                report.rate_limited = True
                report.retry_after = state.retry_after
                report.pending.append(chunk.chunk_id)
            elif state.finished:
                report.finished[chunk.chunk_id] = apply_job_state(
                    client, ledger, settings.folder, chunk.chunk_id, state
                )
            else:
                report.pending.append(chunk.chunk_id)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return report


def wait_for_chunk(
    client: EncordClient,
    ledger: Ledger,
    settings: IngestionSettings,
    chunk_id: str,
    *,
    wait_seconds: float,
    interval_seconds: float = 0.5,
) -> JobOutcome | None:
    """Poll one chunk's job until it finishes or `wait_seconds` pass (None: still pending)."""
    deadline = time.monotonic() + wait_seconds
    delay = interval_seconds
    while True:
        chunk = ledger.chunk(chunk_id)
        if chunk.state != ChunkState.SUBMITTED or not chunk.upload_job_id:
            return None
        state = client.poll_upload_job(settings.folder, chunk.upload_job_id)
        if state.finished:
            return apply_job_state(client, ledger, settings.folder, chunk_id, state)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        pause = state.retry_after if state.rate_limited and state.retry_after else delay
        time.sleep(min(pause, remaining))
        delay = min(delay * 1.5, 5.0)


def manifest_summary(chunk: StoredChunk) -> dict[str, int]:
    """Entries per manifest array, for materialization metadata."""
    if chunk.format != "json":
        return {}
    payload = json.loads(chunk.manifest)
    return {key: len(value) for key, value in payload.items() if isinstance(value, list)}
