"""v2 upload-job and cloud-sync routes: start, long-poll, cancel."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from dagster_encord.emulator.context import Ctx
from dagster_encord.emulator.groups import resolve_from_items
from dagster_encord.emulator.jobs import storage_location
from dagster_encord.emulator.manifest import parse_job_body
from dagster_encord.emulator.records import Item, SyncJob, UploadJob, new_uuid
from dagster_encord.emulator.routes_storage import folder_or_403
from dagster_encord.emulator.verify import EXTENSIONS
from dagster_encord.emulator.wire import ApiError, job_json

POLL_STEP_SECONDS = 0.02  # how often a held long poll re-checks its job


def start_upload_job(ctx: Ctx) -> str:
    body = ctx.json()
    parsed = parse_job_body(body)
    integration_hash = body.get("integrationHash")
    with ctx.state.lock:
        folder = folder_or_403(ctx, ctx.path_params["folder_uuid"])
        if integration_hash is not None and integration_hash not in ctx.state.integrations:
            raise ApiError(
                400,
                f"integrationHash {integration_hash} is not a cloud integration of this org",
            )
        resolve_from_items(ctx.state, parsed.units)
    job = UploadJob(
        uuid=new_uuid(),
        folder_uuid=folder.uuid,
        integration_hash=integration_hash,
        ignore_errors=bool(body.get("ignoreErrors", False)),
        file_name=body.get("fileName"),
        unit_count=len(parsed.units),
        skip_duplicates=parsed.skip_duplicates,
        upsert_metadata=parsed.upsert_metadata,
        created_at=ctx.state.clock.now_iso(),
    )
    ctx.core.jobs.submit(job, parsed.units)
    return job.uuid


async def _hold_while_pending(ctx: Ctx, is_pending: Any) -> None:
    """Long poll: hold the request while the job is pending, up to min(timeoutSeconds, cap)."""
    timeout = ctx.q_int("timeoutSeconds", 60, 0, 2**31)
    deadline = time.monotonic() + min(timeout, ctx.core.settings.poll_cap_seconds)
    while is_pending() and time.monotonic() < deadline:
        await asyncio.sleep(POLL_STEP_SECONDS)


def _job(ctx: Ctx) -> UploadJob:
    folder = folder_or_403(ctx, ctx.path_params["folder_uuid"])
    job = ctx.state.upload_jobs.get(ctx.path_params["job_uuid"])
    if job is None or job.folder_uuid != folder.uuid:
        raise ApiError(
            404, f"upload job {ctx.path_params['job_uuid']} not found in folder {folder.uuid}"
        )
    return job


async def poll_upload_job(ctx: Ctx) -> dict[str, Any]:
    job = _job(ctx)
    await _hold_while_pending(ctx, lambda: job.status == "PENDING")
    with ctx.state.lock:
        return job_json(job)


def cancel_upload_job(ctx: Ctx) -> dict[str, Any]:
    job = _job(ctx)
    return {"unitsCancelledCount": ctx.core.jobs.cancel(job)}


# --- cloud-synced folders --------------------------------------------------------------------


def start_sync(ctx: Ctx) -> str:
    with ctx.state.lock:
        folder = folder_or_403(ctx, ctx.path_params["folder_uuid"])
        if folder.folder_type != "cloudLinked":
            raise ApiError(400, f"folder {folder.uuid} is not a cloud-synced folder")
        job = SyncJob(uuid=new_uuid(), folder_uuid=folder.uuid, status="pending")
        ctx.state.save(job)
    root = ctx.core.settings.local_root
    job.units_done = _sync_from_local_root(ctx, folder.uuid, root) if root is not None else 0
    job.status = "done"
    ctx.state.save(job)
    return job.uuid


def _sync_from_local_root(ctx: Ctx, folder_uuid: str, root: Path) -> int:
    """Register files under the folder's remote URL (mapped into the local root) not yet present."""
    folder = ctx.state.folders[folder_uuid]
    integration = ctx.state.integrations.get(folder.integration_hash or "")
    provider = integration.provider if integration else None
    parsed = urlparse(folder.remote_url or "")
    base = root / (parsed.hostname or "") / parsed.path.lstrip("/")
    by_extension = {
        ext: kind
        for kind, exts in EXTENSIONS.items()
        if kind in ("image", "video", "audio", "pdf", "plainText")
        for ext in exts
    }
    new_items = []
    stamp = ctx.state.clock.now_iso()
    bucket_root = root / (parsed.hostname or "")
    for path in sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else []:
        item_type = by_extension.get(path.suffix.lstrip(".").lower())
        url = f"{parsed.scheme}://{parsed.hostname}/{path.relative_to(bucket_root).as_posix()}"
        if item_type is None or ctx.state.items_with_key(folder_uuid, url):
            continue
        new_items.append(
            Item(
                uuid=new_uuid(),
                parent=folder_uuid,
                item_type=item_type,
                name=path.name,
                url=url,
                integration_hash=folder.integration_hash,
                storage_location=storage_location(provider, url),
                client_metadata={},
                created_at=stamp,
                last_edited_at=stamp,
                media={"fileSize": path.stat().st_size},
            )
        )
    ctx.state.save_many(new_items)
    return len(new_items)


async def poll_sync(ctx: Ctx) -> dict[str, Any]:
    folder_or_403(ctx, ctx.path_params["folder_uuid"])
    job = ctx.state.sync_jobs.get(ctx.path_params["job_uuid"])
    if job is None:
        raise ApiError(404, f"sync job {ctx.path_params['job_uuid']} not found")
    await _hold_while_pending(ctx, lambda: job.status == "pending")
    done = job.status == "done"
    return {
        "status": job.status,
        "scanPagesProcessingPending": 0,
        "scanPagesProcessingDone": 1 if done else 0,
        "scanPagesProcessingError": 0 if done else 1,
        "scanPagesProcessingCancelled": 0,
        "uploadJobsPending": 0,
        "uploadJobsDone": 1 if done else 0,
        "uploadJobsError": 0,
        "uploadJobsUnitsPending": 0,
        "uploadJobsUnitsDone": job.units_done,
        "uploadJobsUnitsError": job.units_error,
        "uploadJobsUnitsCancelled": 0,
    }


ROUTES = [
    ("POST", "/v2/public/storage/folders/{folder_uuid}/data-upload-jobs", start_upload_job),
    (
        "GET",
        "/v2/public/storage/folders/{folder_uuid}/data-upload-jobs/{job_uuid}",
        poll_upload_job,
    ),
    (
        "POST",
        "/v2/public/storage/folders/{folder_uuid}/data-upload-jobs/{job_uuid}/cancel",
        cancel_upload_job,
    ),
    ("POST", "/v2/public/storage/folders/{folder_uuid}/cloud-synced-folder-syncs", start_sync),
    (
        "GET",
        "/v2/public/storage/folders/{folder_uuid}/cloud-linked-folder-syncs/{job_uuid}/long-polling",
        poll_sync,
    ),
]
