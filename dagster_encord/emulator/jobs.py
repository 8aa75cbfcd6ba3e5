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
- A group's frames become child items (see `groups`).
- Images and videos the emulator can read get their width and height (videos: also fps,
  duration and frame count) from the file's header (see `media`); registration JSON values win.
Progress is saved at most once a second (and when the job ends). A restarted emulator resumes
pending jobs after their last saved unit, skipping units whose items the earlier run created.
"""

from __future__ import annotations

import functools
import logging
import mimetypes
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagster_encord.emulator.faults import FaultPlan
from dagster_encord.emulator.groups import make_frames
from dagster_encord.emulator.media import probe_objects, urls_to_probe
from dagster_encord.emulator.records import Item, JobUnits, UploadJob, new_uuid
from dagster_encord.emulator.state import EmulatorState
from dagster_encord.emulator.verify import ObjectVerifier, extension, format_error

logger = logging.getLogger("dagster_encord.emulator")
BATCH_UNITS = 2000
PROGRESS_SAVE_SECONDS = 1.0
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


@functools.cache
def _provider_location(provider: str) -> str:
    return PROVIDER_LOCATIONS.get(provider.lower().replace("-", "").replace("_", ""), "s3")


def storage_location(provider: str | None, url: str) -> str:
    if provider:
        return _provider_location(provider)
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0]  # no urlparse: this runs once per unit of 100k-URL jobs
    if scheme == "gs" or host in ("storage.cloud.google.com", "storage.googleapis.com"):
        return "gcp"
    if scheme == "az" or host.endswith(".blob.core.windows.net"):
        return "azure"
    return "s3"


@dataclass
class UnitCheck:
    """The outcome of checking one unit: an error with its failing URLs, or what was learnt of
    its objects: sizes in bytes and, for images, the width and height read from the header."""

    error: str | None = None
    urls: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    media: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class JobSettings:
    verify_objects: bool = True
    local_root: Path | None = None
    probe_media: bool = True


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
        self._saved_at: dict[str, float] = {}  # job uuid -> monotonic time of its last save
        self._threads = [
            threading.Thread(target=self._work, name=f"encord-emulator-jobs-{n}", daemon=True)
            for n in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, job: UploadJob, units: list[dict[str, Any]]) -> None:
        job.stalled = self.faults.take_stall()
        self.state.save(JobUnits(job.uuid, units), job)
        if not job.stalled:
            self._queue.put(job.uuid)

    def resume_pending(self) -> None:
        with self.state.lock:
            pending = [j for j in self.state.upload_jobs.values() if j.status == "PENDING"]
            for job in pending:
                job.resumed = True  # items saved after its last progress write must not repeat
            pending_uuids = [j.uuid for j in pending if not j.stalled]
        for job_uuid in pending_uuids:
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
            self.state.drop("job_units", [job.uuid])
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
            if job is None:
                continue
            try:
                self._run(job)
            except Exception as error:  # an emulator bug must fail the job, not the worker
                logger.exception("upload job %s failed inside the emulator", job.uuid)
                with self.state.lock:
                    job.errors.append(f"internal emulator error: {error!r}")
                    job.cancelled = job.pending
                    job.status = "ERROR"
                    self.state.save(job)

    def _run(self, job: UploadJob) -> None:
        verifier = ObjectVerifier(
            enabled=self.settings.verify_objects, local_root=self.settings.local_root
        )
        integration = self.state.integrations.get(job.integration_hash or "")
        provider = integration.provider if integration else None
        stored = self.state.job_units.get(job.uuid)
        units = stored.units if stored is not None else []  # none left once cancelled
        for offset in range(job.done + job.error, len(units), BATCH_UNITS):
            batch = units[offset : offset + BATCH_UNITS]
            if job.status != "PENDING" or not self._commit(
                job, batch, self._check(batch, verifier), provider
            ):
                break
        with self.state.lock:
            if job.status == "PENDING":
                job.status = "DONE"
                self.state.save(job)
            self.state.drop("job_units", [job.uuid])  # finished jobs keep only their results

    def _check(self, batch: list[dict[str, Any]], verifier: ObjectVerifier) -> list[UnitCheck]:
        """One check per unit: injected faults, format and metadata first, then existence."""
        checks = [self._static_check(unit) for unit in batch]
        found = verifier.check(
            url for unit, c in zip(batch, checks, strict=True) if c.ok for url in unit["urls"]
        )
        for unit, check in zip(batch, checks, strict=True):
            if not check.ok:
                continue
            missing = [url for url in unit["urls"] if found[url][0] is not None]
            if missing:
                check.error, check.urls = f"{found[missing[0]][0]}: {missing[0]}", missing
            else:
                check.sizes = {
                    url: size for url in unit["urls"] if (size := found[url][1]) is not None
                }
        if self.settings.probe_media:
            wanted = {
                url: kind
                for unit, check in zip(batch, checks, strict=True)
                if check.ok
                for url, kind in urls_to_probe(unit).items()
            }
            sizes = {url: size for url in wanted if (size := found[url][1]) is not None}
            probed = probe_objects(verifier, wanted, sizes)
            for unit, check in zip(batch, checks, strict=True):
                check.media = {url: probed[url] for url in unit["urls"] if url in probed}
        return checks

    def _static_check(self, unit: dict[str, Any]) -> UnitCheck:
        for url in unit["urls"]:
            injected = self.faults.url_error(url)
            if injected is not None:
                return UnitCheck(f"{injected}: {url}", [url])
        for url in unit["urls"]:
            problem = format_error(unit["itemType"], url)
            if problem is not None:
                return UnitCheck(f"{problem}: {url}", [url])
        problem = self.metadata_check(unit["clientMetadata"])
        if problem is not None:
            return UnitCheck(f"{unit['entry']}.clientMetadata: {problem}", unit["urls"][:1])
        return UnitCheck()

    def _commit(
        self,
        job: UploadJob,
        batch: list[dict[str, Any]],
        checks: list[UnitCheck],
        provider: str | None,
    ) -> bool:
        """Record the batch's errors and create its items; False when the job stops here."""
        with self.state.lock:
            if job.status != "PENDING":
                return False
            for unit, check in zip(batch, checks, strict=True):
                if check.ok:
                    continue
                job.unit_errors.append(
                    {
                        "objectUrls": check.urls,
                        "error": check.error,
                        "subtaskUuid": new_uuid(),
                        "actionDescription": ACTIONS.get(unit["itemType"], "Uploading file"),
                    }
                )
                job.errors.append(f"{unit['entry']}: {check.error}")
                job.error += 1
            if not job.ignore_errors and not all(check.ok for check in checks):
                job.cancelled = job.unit_count - job.done - job.error
                job.status = "ERROR"
                self.state.save(job)
                return False
            changed: list[Item] = []
            stamp = self.state.clock.now_iso()
            for unit, check in zip(batch, checks, strict=True):
                if check.ok:
                    item = self._register(job, unit, check, provider, stamp, changed)
                    job.items_with_names.append({"itemUuid": item.uuid, "name": item.name})
                    job.done += 1
            self.state.save_many(changed)
            self._save_progress(job)
        return True

    def _save_progress(self, job: UploadJob) -> None:
        """At most once a second: rewriting a big job's results every batch would be quadratic."""
        now = time.monotonic()
        if now - self._saved_at.get(job.uuid, 0.0) >= PROGRESS_SAVE_SECONDS:
            self._saved_at[job.uuid] = now
            self.state.save(job)

    def _register(
        self,
        job: UploadJob,
        unit: dict[str, Any],
        check: UnitCheck,
        provider: str | None,
        stamp: str,
        changed: list[Item],
    ) -> Item:
        urls: list[str] = unit["urls"]
        single = unit["itemType"] not in ("imageGroup", "imageSequence", "dicomSeries")
        key = urls[0] if single else "\n".join(urls)
        if job.skip_duplicates or job.resumed:
            existing = self.state.items_with_key(job.folder_uuid, key)
            if existing:
                if job.upsert_metadata:
                    for item in existing:
                        item.client_metadata = unit["clientMetadata"]
                        item.last_edited_at = stamp
                        changed.append(item)
                return existing[0]
        media = dict(unit["media"])  # the registration JSON's media metadata wins
        if single:
            suffix = extension(urls[0])
            media.setdefault("mimeType", mimetypes.types_map.get(f".{suffix}") if suffix else None)
            if urls[0] in check.sizes:
                media.setdefault("fileSize", check.sizes[urls[0]])
        if single or unit["itemType"] == "imageSequence":  # a sequence is a video of its frames
            for name, value in check.media.get(urls[0], {}).items():
                media.setdefault(name, value)
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
        if not single:  # a group's frames are items too (child items)
            changed.extend(make_frames(item, unit, check.sizes, check.media, stamp))
        self.state.index_record("item", item)  # visible to later duplicates in this batch
        return item
