"""Executing an upsert plan (no Dagster): send the existing items' updates, read the metadata back
and verify it, and report per file.

Requests, `patch` mode: the items are read (one request per 5,000), the changed ones patched (one
per 1,000) and every item sent or found holding the update read back (one per 5,000). `reregister`
mode: one upload job, its polls, and the read-back. A plan with nothing to send costs nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dagster_encord.encord_client.jobs import FINISHED_STATUSES, JobState
from dagster_encord.encord_client.storage import READ_BATCH_SIZE
from dagster_encord.errors import EncordError
from dagster_encord.metadata.frames import FrameReport
from dagster_encord.metadata.item_metadata import patch_metadata, read_metadata
from dagster_encord.metadata.upsert import UpsertPlan, reregister_manifest, verify_readback

if TYPE_CHECKING:
    from dagster_encord.encord_client.client import EncordClient

SKIPPED_BY_FINGERPRINT = (
    "unchanged: the ledger's fingerprint of the metadata last registered or verified equals the "
    "wanted metadata; not sent, not read back"
)


@dataclass
class UpsertReport:
    """The outcome of `execute_upserts`, per item. `errors` maps object URL -> message (what the
    ledger records); for verified items `stored` holds the metadata read back and `sent` what
    was sent.

    `verified` counts only items whose metadata was read back from Encord after this run and
    matched. Files the plan left alone because the ledger's fingerprint already equals the wanted
    metadata are neither sent nor read (a re-run over an unchanged bucket costs no request):
    they are listed in `skipped` (object URL -> reason) and counted in `unchanged`.
    """

    mode: str
    patched: int = 0
    unchanged: int = 0
    reregistered: int = 0
    verified: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    upload_job_id: str | None = None
    frames: FrameReport | None = None  # per-frame upserts of group items, when any


def execute_upserts(
    client: EncordClient,
    plan: UpsertPlan,
    *,
    folder: str | None = None,
    integration: str | None = None,
    read_batch_size: int = READ_BATCH_SIZE,
    job_timeout_seconds: float = 600.0,
    poll_interval_seconds: float = 1.0,
) -> UpsertReport:
    """Send the plan's existing-item updates, then read the metadata back and verify it.

    `patch` mode sends bulk patches (merge). `reregister` mode submits one registration JSON
    with `skip_duplicate_urls` + `upsert_metadata` to `folder` through `integration` (uuids or
    titles; overwrite), waits for the job, and reads back. Every item sent, and every item a
    patch found already holding the wanted keys, is read back in bulk and verified; files the
    ledger's fingerprint marks unchanged (`plan.unchanged`) are skipped, see `UpsertReport`.
    New files (`plan.inline`) are not sent here: their metadata travels inline in the
    registration manifests.
    """
    report = UpsertReport(mode=plan.mode, unchanged=len(plan.unchanged))
    for url in plan.unchanged:
        report.skipped[url] = SKIPPED_BY_FINGERPRINT
    for violation in plan.rejected:
        report.errors.setdefault(violation.file, str(violation))
    expected: dict[str, dict[str, Any]] = {}
    if plan.mode == "patch":
        # One call for all batches, so items are read in `read_batch_size` requests.
        updates = {uuid: meta for batch in plan.patch_batches for uuid, meta in batch.items()}
        outcome = patch_metadata(client, updates, read_batch_size=read_batch_size)
        report.patched = len(outcome.patched)
        report.unchanged += len(outcome.unchanged)
        for item_uuid, message in outcome.errors.items():
            report.errors[plan.url_by_item.get(item_uuid, item_uuid)] = message
        for item_uuid in [*outcome.patched, *outcome.unchanged]:
            expected[item_uuid] = dict(updates[item_uuid])
    elif plan.reregister:
        if folder is None or integration is None:
            raise ValueError("reregister mode needs the folder and the integration (uuid or title)")
        integration_uuid = client.resolve_integration(integration).integration_uuid
        report.upload_job_id = client.start_upload_job(
            folder, integration_uuid, reregister_manifest(plan.reregister)
        )
        state = _wait_for_job(
            client, folder, report.upload_job_id, job_timeout_seconds, poll_interval_seconds
        )
        failed_urls = {url: f.error for f in state.failures for url in f.object_urls}
        report.errors.update(failed_urls)
        for update in plan.reregister:
            if update.object_url not in failed_urls and update.item_uuid is not None:
                expected[update.item_uuid] = dict(update.metadata)
        report.reregistered = len(expected)
    if not expected:
        return report
    stored, read_errors = read_metadata(client, list(expected), batch_size=read_batch_size)
    for item_uuid, message in read_errors.items():
        report.errors[plan.url_by_item.get(item_uuid, item_uuid)] = message
    problems = verify_readback(
        {k: v for k, v in expected.items() if k in stored}, stored, mode=plan.mode
    )
    for item_uuid, message in problems.items():
        report.errors[plan.url_by_item.get(item_uuid, item_uuid)] = f"read-back: {message}"
    report.verified = len(stored) - len(problems)
    verified = [k for k in stored if k not in problems]
    report.stored = {plan.url_by_item.get(k, k): stored[k] for k in verified}
    report.sent = {plan.url_by_item.get(k, k): expected[k] for k in verified}
    return report


def _wait_for_job(
    client: EncordClient, folder: str, job_id: str, timeout: float, interval: float
) -> JobState:
    deadline = time.monotonic() + timeout
    while True:
        state = client.poll_upload_job(folder, job_id)
        if state.status in FINISHED_STATUSES:
            return state
        if time.monotonic() > deadline:
            raise EncordError(
                f"metadata re-registration job {job_id} did not finish within {timeout:.0f} s; "
                "its result will be picked up by the job sensor"
            )
        time.sleep(state.retry_after or interval)
