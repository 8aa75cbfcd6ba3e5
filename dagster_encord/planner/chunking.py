"""Chunking: packing manifest items into upload chunks with stable, content-derived ids.

Scheme (content-defined chunking, as in rsync/restic, over the sorted item keys of one lane):

1. Items of one lane (images, videos, …, DICOM series) arrive sorted by `item_key`.
2. After each item a boundary is cut when `h1(item_key) < urls / budget`, where `h1` is 4 bytes
   of the key's BLAKE2b digest mapped to [0, 1). Whether an item ends a segment depends only on
   that item, so inserting or removing one item changes only the segment it lands in (which
   splits in two when the new item is itself a boundary). Segments average one budget.
3. A segment over the budget is split again with the next 4 digest bytes (`h2`) and twice the
   probability, and so on; after level 8 the rest is packed greedily. Chunks average about a
   third of the budget. Every split stays inside its segment,
   so the locality of step 2 holds at every level.
4. A multi-file item (image group, sequence, DICOM series) is one item: it is never split. An
   item bigger than the budget travels alone (still within Encord's hard limits).
5. `chunk_id = "<lane>-" + sha256(namespace, lane, format, flags, each item's fingerprint)[:24]`,
   where an item's fingerprint covers its rendered entry (URLs, title, metadata) and its members'
   keys and versions. The same input always yields the same ids; a changed file changes the id of
   its chunk only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from dagster_encord.planner.limits import MAX_CSV_ROWS, check_manifest_size
from dagster_encord.planner.manifest import ManifestItem, render_csv, render_json

_MAX_LEVEL = 8
# A level-1 segment this many budgets long is cut regardless: it bounds memory on input whose
# hashes never hit (probability ~e^-64 for honest input).
_SEGMENT_MEMORY_CAP = 64


_SCALE32 = float(1 << 32)


def boundary_digest(item_key: str) -> bytes:
    """4 bytes per level (1.._MAX_LEVEL) of one BLAKE2b digest of the key."""
    return hashlib.blake2b(item_key.encode("utf-8"), digest_size=4 * _MAX_LEVEL).digest()


def boundary_score(digest: bytes, level: int) -> float:
    """The level's score in [0, 1)."""
    start = 4 * (level - 1)
    return int.from_bytes(digest[start : start + 4], "big") / _SCALE32


def item_fingerprint(item: ManifestItem) -> str:
    """Covers everything the entry renders (URLs, title, metadata) plus keys and versions."""
    parts = [item.lane, item.item_key, str(item.title)]
    for record in item.members:
        parts += (record.key, record.object_url, str(record.version), str(record.size))
    if item.client_metadata is not None or item.media_metadata is not None:
        parts.append(
            json.dumps(
                [item.client_metadata, item.media_metadata], sort_keys=True, ensure_ascii=False
            )
        )
    return hashlib.blake2b("\0".join(parts).encode("utf-8"), digest_size=16).hexdigest()


@dataclass(frozen=True)
class Chunk:
    """One upload: items of one lane rendered as one manifest."""

    chunk_id: str
    lane: str
    items: tuple[ManifestItem, ...]
    format: str = "json"
    upsert_metadata: bool = False

    @property
    def item_count(self) -> int:
        return len(self.items)

    @cached_property
    def url_count(self) -> int:
        return sum(len(item.members) for item in self.items)

    @cached_property
    def bytes(self) -> int:
        return sum(record.size for item in self.items for record in item.members)

    @property
    def keys(self) -> list[str]:
        return [record.key for item in self.items for record in item.members]

    @property
    def object_urls(self) -> list[str]:
        return [record.object_url for item in self.items for record in item.members]

    def manifest_text(self) -> str:
        if self.format == "csv":
            return render_csv(self.items)
        return render_json(self.items, upsert_metadata=self.upsert_metadata)

    @property
    def filename(self) -> str:
        return f"{self.chunk_id}.{self.format}"


@dataclass(frozen=True, slots=True)
class _Entry:
    item: ManifestItem
    fingerprint: str
    digest: bytes
    urls: int


class LaneChunker:
    """Streams items of one lane (sorted by item_key) into chunks."""

    def __init__(
        self,
        lane: str,
        budget: int,
        *,
        namespace: str = "",
        format: str = "json",
        upsert_metadata: bool = False,
    ) -> None:
        self.lane = lane
        self.budget = min(budget, MAX_CSV_ROWS) if format == "csv" else budget
        self.namespace = namespace
        self.format = format
        self.upsert_metadata = upsert_metadata
        self._segment: list[_Entry] = []
        self._segment_urls = 0

    def add(self, item: ManifestItem) -> Iterator[Chunk]:
        entry = _Entry(
            item, item_fingerprint(item), boundary_digest(item.item_key), len(item.members)
        )
        self._segment.append(entry)
        self._segment_urls += entry.urls
        if (
            boundary_score(entry.digest, 1) < entry.urls / self.budget
            or self._segment_urls >= _SEGMENT_MEMORY_CAP * self.budget
        ):
            yield from self.flush()

    def flush(self) -> Iterator[Chunk]:
        segment, self._segment, self._segment_urls = self._segment, [], 0
        if segment:
            for part in self._split(segment, 2):
                yield self._chunk(part)

    def _split(self, segment: list[_Entry], level: int) -> Iterator[list[_Entry]]:
        if sum(entry.urls for entry in segment) <= self.budget or len(segment) == 1:
            yield segment
            return
        if level > _MAX_LEVEL:
            yield from self._greedy(segment)
            return
        scale = float(1 << (level - 1))
        part: list[_Entry] = []
        for entry in segment:
            part.append(entry)
            if boundary_score(entry.digest, level) < scale * entry.urls / self.budget:
                yield from self._split(part, level + 1)
                part = []
        if part:
            yield from self._split(part, level + 1)

    def _greedy(self, segment: list[_Entry]) -> Iterator[list[_Entry]]:
        part: list[_Entry] = []
        urls = 0
        for entry in segment:
            if part and urls + entry.urls > self.budget:
                yield part
                part, urls = [], 0
            part.append(entry)
            urls += entry.urls
        if part:
            yield part

    def _chunk(self, part: list[_Entry]) -> Chunk:
        items = tuple(entry.item for entry in part)
        check_manifest_size(sum(entry.urls for entry in part), len(items), csv=self.format == "csv")
        hasher = hashlib.sha256()
        header = f"{self.namespace}\0{self.lane}\0{self.format}\0{int(self.upsert_metadata)}"
        hasher.update(header.encode("utf-8"))
        for entry in part:
            hasher.update(entry.fingerprint.encode("ascii"))
        return Chunk(
            chunk_id=f"{self.lane}-{hasher.hexdigest()[:24]}",
            lane=self.lane,
            items=items,
            format=self.format,
            upsert_metadata=self.upsert_metadata,
        )
