"""Upload jobs: run asynchronously on worker threads, unit by unit, with per-unit errors.

A job is processed in batches: each batch's URLs are checked (injected URL faults, format, object
existence, metadata schema), then its good units become storage items in one state write.
- `ignoreErrors=true`: failed units are reported and the job ends DONE.
- `ignoreErrors=false`: the first batch with a failed unit aborts the job (Encord: "individual
  file errors lead to the whole upload process being aborted"): it ends ERROR, units already
  registered stay (listed in itemsWithNames), the rest are counted cancelled.
- `skip_duplicate_urls`: a unit whose URL (or frame URLs) already exists in the folder creates
  nothing; with `upsert_metadata` the existing items get the unit's clientMetadata. Skipped units
  count as done and report the existing item, so a resubmitted chunk can be reconciled.
Progress is saved after every batch, so a restarted emulator resumes pending jobs.
"""

from __future__ import annotations

import mimetypes
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from dagster_encord.emulator.faults import FaultPlan
from dagster_encord.emulator.records import Item, UploadJob, new_uuid, now_iso
from dagster_encord.emulator.state import EmulatorState
from dagster_encord.emulator.verify import ObjectVerifier, format_error

BATCH_UNITS = 2000
PROVIDER_LOCATIONS = {
    "s3": "s3",
    "aws": "s3",
    "gcp": "gcp",
    "gcs": "gcp",
    "azure": "azure",
    "otc": "openTelekom",
    "s3compatible": "s3Compatible",
}
ACTIONS = {
    "image": "Uploading image",
    "video": "Uploading video",
    "imageGroup": "Uploading image group",
    "imageSequence": "Creating image sequence",
    "dicomSeries": "Uploading DICOM series",
    "audio": "Uploading audio",
    "nifti": "Uploading NIfTI",
    "plainText": "Uploading text",
    "pdf": "Uploading PDF",
}
MetadataCheck = Callable[[dict[str, Any]], str | None]


def storage_location(provider: str | None, url: str) -> str:
    if provider:
        return PROVIDER_LOCATIONS.get(provider.lower().replace("-", "").replace("_", ""), "s3")
    scheme, host = urlparse(url).scheme, urlparse(url).hostname or ""
    if scheme == "gs" or "storage.cloud.google.com" in host or "googleapis" in host:
        return "gcp"
    if scheme == "az" or host.endswith("blob.core.windows.net"):
        return "azure"
    return "s3"


@dataclass
class JobSettings:
    verify_objects: bool = True
    local_root: Path | None = None


class JobRunner:
    def __init__(
        self,
        state: EmulatorState,
        faults: FaultPlan,
        settings: JobSettings,
        metadata_check: MetadataCheck,
        workers: int = 2,
    ) -> None:
        self.state = state
        self.faults = faults
        self.settings = settings
        self.metadata_check = metadata_check
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._work, name=f"encord-emulator-jobs-{n}", daemon=True)
            for n in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, job: UploadJob) -> None:
        job.stalled = self.faults.take_stall()
        self.state.save(job)
        if not job.stalled:
            self._queue.put(job.uuid)

    def resume_pending(self) -> None:
        with self.state.lock:
            pending = [
                j.uuid
                for j in self.state.upload_jobs.values()
                if j.status == "PENDING" and not j.stalled
            ]
        for job_uuid in pending:
            self._queue.put(job_uuid)

    def release_stalled(self) -> int:
        with self.state.lock:
            stalled = [
                j for j in self.state.upload_jobs.values() if j.stalled and j.status == "PENDING"
            ]
            for job in stalled:
                job.stalled = False
            self.state.save_many(stalled)
        for job in stalled:
            self._queue.put(job.uuid)
        return len(stalled)

    def cancel(self, job: UploadJob) -> int:
        with self.state.lock:
            if job.status != "PENDING":
                return 0
            cancelled = job.pending
            job.cancelled += cancelled
            job.status = "CANCELLED"
            self.state.save(job)
            return cancelled

    def stop(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=5)

    # --- processing ------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            job_uuid = self._queue.get()
            if job_uuid is None:
                return
            job = self.state.upload_jobs.get(job_uuid)
            if job is not None:
                self._run(job)

    def _run(self, job: UploadJob) -> None:
        verifier = ObjectVerifier(
            enabled=self.settings.verify_objects, local_root=self.settings.local_root
        )
        integration = self.state.integrations.get(job.integration_hash or "")
        provider = integration.provider if integration else None
        start = job.done + job.error
        for offset in range(start, len(job.units), BATCH_UNITS):
            if job.status != "PENDING":
                return
            batch = job.units[offset : offset + BATCH_UNITS]
            errors = self._check(batch, verifier)
            if not self._commit(job, batch, errors, provider):
                return
        with self.state.lock:
            if job.status == "PENDING":
                job.status = "DONE"
                self.state.save(job)

    def _check(
        self, batch: list[dict[str, Any]], verifier: ObjectVerifier
    ) -> dict[int, tuple[str, list[str], dict[str, int]]]:
        """Batch index -> (error, failing urls, sizes); sizes for good units ride along too."""
        results: dict[int, tuple[str, list[str], dict[str, int]]] = {}
        pending_urls: list[str] = []
        for index, unit in enumerate(batch):
            failure = self._static_error(unit)
            if failure is not None:
                results[index] = failure
            else:
                pending_urls.extend(unit["urls"])
        found = verifier.check(pending_urls)
        for index, unit in enumerate(batch):
            if index in results:
                continue
            missing = [url for url in unit["urls"] if found[url][0] is not None]
            sizes = {url: found[url][1] for url in unit["urls"] if found[url][1] is not None}
            if missing:
                results[index] = (f"{found[missing[0]][0]}: {missing[0]}", missing, {})
            else:
                results[index] = ("", [], sizes)  # type: ignore[assignment]
        return results

    def _static_error(self, unit: dict[str, Any]) -> tuple[str, list[str], dict[str, int]] | None:
        for url in unit["urls"]:
            injected = self.faults.url_error(url)
            if injected is not None:
                return (f"{injected}: {url}", [url], {})
        for url in unit["urls"]:
            problem = format_error(unit["itemType"], url)
            if problem is not None:
                return (f"{problem}: {url}", [url], {})
        problem = self.metadata_check(unit["clientMetadata"])
        if problem is not None:
            return (f"{unit['entry']}.clientMetadata: {problem}", unit["urls"][:1], {})
        return None

    def _commit(
        self,
        job: UploadJob,
        batch: list[dict[str, Any]],
        checks: dict[int, tuple[str, list[str], dict[str, int]]],
        provider: str | None,
    ) -> bool:
        failed = {i: c for i, c in checks.items() if c[0]}
        with self.state.lock:
            if job.status != "PENDING":
                return False
            for index, (message, urls, _) in failed.items():
                unit = batch[index]
                job.unit_errors.append(
                    {
                        "objectUrls": urls,
                        "error": message,
                        "subtaskUuid": new_uuid(),
                        "actionDescription": ACTIONS.get(unit["itemType"], "Uploading file"),
                    }
                )
                job.errors.append(f"{unit['entry']}: {message}")
            job.error += len(failed)
            if failed and not job.ignore_errors:
                job.cancelled = len(job.units) - job.done - job.error
                job.status = "ERROR"
                self.state.save(job)
                return False
            changed: list[Item] = []
            stamp = now_iso()
            for index, unit in enumerate(batch):
                if index in failed:
                    continue
                item = self._register(job, unit, checks[index][2], provider, stamp, changed)
                job.items_with_names.append({"itemUuid": item.uuid, "name": item.name})
                job.done += 1
            self.state.save_many(changed)
            self.state.save(job)
        return True

    def _register(
        self,
        job: UploadJob,
        unit: dict[str, Any],
        sizes: dict[str, int],
        provider: str | None,
        stamp: str,
        changed: list[Item],
    ) -> Item:
        urls: list[str] = unit["urls"]
        single = unit["itemType"] not in ("imageGroup", "imageSequence", "dicomSeries")
        key = urls[0] if single else "\n".join(urls)
        if job.skip_duplicates:
            existing = self.state.items_with_key(job.folder_uuid, key)
            if existing:
                if job.upsert_metadata:
                    for item in existing:
                        item.client_metadata = unit["clientMetadata"]
                        item.last_edited_at = stamp
                        changed.append(item)
                return existing[0]
        media = dict(unit["media"])
        if single:
            guessed = mimetypes.guess_type(unquote(urlparse(urls[0]).path))[0]
            media.setdefault("mimeType", guessed)
            if urls[0] in sizes:
                media.setdefault("fileSize", sizes[urls[0]])
        item = Item(
            uuid=new_uuid(),
            parent=job.folder_uuid,
            item_type=unit["itemType"],
            name=unit["title"],
            url=urls[0] if single else None,
            integration_hash=job.integration_hash,
            storage_location=storage_location(provider, urls[0]),
            client_metadata=unit["clientMetadata"],
            created_at=stamp,
            last_edited_at=stamp,
            media=media,
            child_urls=[] if single else urls,
        )
        changed.append(item)
        self.state.index_record("item", item)  # visible to later duplicates in this batch
        return item
