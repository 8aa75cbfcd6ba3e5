"""Plain values the ledger returns: diff summaries, chunks, counts, file rows."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dagster_encord.ledger.states import (
    IN_ENCORD_FILE_STATES,
    PENDING_FILE_STATES,
    ChunkState,
    FileState,
    LinkState,
)
from dagster_encord.planner.classify import SkippedFile
from dagster_encord.planner.group import HeldGroup
from dagster_encord.planner.plan import PlanTotals


@dataclass(frozen=True, slots=True)
class DiffSummary:
    """What one listing changed: `new + changed + unchanged == listed`."""

    listing_id: str
    listed: int
    new: int
    changed: int
    deleted: int
    unchanged: int


@dataclass(frozen=True, slots=True)
class PlannedChunk:
    """A persisted chunk without its manifest text (see `StoredChunk`)."""

    chunk_id: str
    lane: str
    state: ChunkState
    format: str
    file_count: int
    item_count: int
    bytes: int
    upload_job_id: str | None
    submit_attempts: int

    @property
    def counts(self) -> dict[str, int]:
        """Items per lane (each chunk holds one lane)."""
        return {self.lane: self.item_count}


@dataclass(frozen=True, slots=True)
class StoredChunk(PlannedChunk):
    """A persisted chunk with the manifest to POST (JSON or CSV text)."""

    manifest: str = ""

    def manifest_payload(self) -> dict[str, Any]:
        """The JSON manifest as a dict (JSON chunks only)."""
        if self.format != "json":
            raise ValueError(f"chunk {self.chunk_id} is a {self.format} manifest, not JSON")
        payload: dict[str, Any] = json.loads(self.manifest)
        return payload


@dataclass
class PlanOutcome:
    """What `Ledger.plan` did: chunks persisted, files skipped (with reasons), groups held."""

    chunks: list[PlannedChunk]
    skipped: list[SkippedFile]
    held: list[HeldGroup]
    warnings: list[str]
    totals: PlanTotals = field(default_factory=PlanTotals)

    @property
    def planned_files(self) -> int:
        return sum(chunk.file_count for chunk in self.chunks)


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """What `Ledger.record_job_result` changed."""

    registered: int
    failed: int
    quarantined: int
    unaccounted: int
    unknown_urls: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FileRow:
    key: str
    object_url: str
    size: int
    version: str | None
    state: FileState
    chunk_id: str | None
    item_key: str | None
    item_uuid: str | None
    metadata_hash: str | None
    attempts: int
    error_class: str | None
    error_message: str | None
    next_attempt_at: float | None


@dataclass(frozen=True, slots=True)
class DatasetLink:
    """A file's link to one dataset: the item linked and the data row it became."""

    key: str
    dataset_hash: str
    item_uuid: str
    data_hash: str | None  # None while linking
    state: LinkState


@dataclass(frozen=True, slots=True)
class LedgerCounts:
    """Files per state for one pipeline. `listed` counts every file not deleted."""

    by_state: Mapping[FileState, int]

    def __getitem__(self, state: FileState) -> int:
        return int(self.by_state.get(state, 0))

    @property
    def listed(self) -> int:
        return sum(n for state, n in self.by_state.items() if state != FileState.DELETED)

    @property
    def registered(self) -> int:
        return sum(self[state] for state in IN_ENCORD_FILE_STATES)

    @property
    def pending(self) -> int:
        return sum(self[state] for state in PENDING_FILE_STATES)

    @property
    def failed(self) -> int:
        return self[FileState.FAILED]

    @property
    def quarantined(self) -> int:
        return self[FileState.QUARANTINED]

    @property
    def skipped(self) -> int:
        return self[FileState.SKIPPED]

    @property
    def reconciles(self) -> bool:
        """listed = registered + pending + failed + quarantined + skipped."""
        total = self.registered + self.pending + self.failed + self.quarantined + self.skipped
        return self.listed == total
