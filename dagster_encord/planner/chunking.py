"""Chunking: packing manifest items into upload chunks with stable, content-derived ids.

Items of one lane (images, videos, …, DICOM series) arrive sorted by `item_key`. Each key gets
one BLAKE2b digest; `h_n(key)` is its n-th 4 bytes mapped to [0, 1). Two packings
(`PlannerConfig.packing`):

**dense** (default): chunks average about 0.9 of the budget.

1. An item is an *anchor* when `h1(item_key) < urls / (ANCHOR_SPAN_BUDGETS * budget)`; anchors
   depend only on the item, and average `ANCHOR_SPAN_BUDGETS` budgets apart. A chunk always ends
   after an anchor: the stream falls into *anchor spans*, each running from the item after one
   anchor up to and including the next anchor.
2. Inside a span, items are packed greedily in key order: a chunk is closed when the next item
   would take it over the budget. An item bigger than the budget travels alone.
3. Locality: adding (or removing, or resizing) one item whose span is S leaves every chunk
   outside S unchanged, and every chunk of S that ends before the item; it changes the chunk the
   item lands in and, at most, the chunks after it in S up to and including the one ending at S's
   anchor. When the added item is itself an anchor, S splits at it and the same bound holds.
   A new version of a file (same key) changes only its chunk's id.
4. Memory: only the chunk being filled is buffered (at most one budget, or one oversize item).

**stable**: strict content-defined chunking (as in rsync/restic); chunks average about a third of
the budget, but one added item changes only the chunk it lands in.

1. After each item a boundary is cut when `h1(item_key) < urls / budget`. Whether an item ends a
   segment depends only on that item, so inserting or removing one item changes only the
   segment it lands in (which splits in two when the new item is itself a boundary). Segments
   average one budget.
2. A segment over the budget is split again with `h2` and twice the probability, and so on;
   after level 8 the rest is packed greedily. Every split stays inside its segment, so the
   locality of step 1 holds at every level. A segment of `_SEGMENT_MEMORY_CAP` budgets is cut
   regardless, which bounds memory.

Both packings: a multi-file item (image group, sequence, DICOM series) is one item and is never
split; every chunk is checked against Encord's hard limits (`limits.py`); the same input always
yields the same chunks. `chunk_id = "<lane>-" + sha256(namespace, lane, format, flags, each
item's fingerprint)[:24]`, where an item's fingerprint covers its rendered entry (URLs, title,
metadata) and its members' keys and versions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from dagster_encord.errors import PlanningError
from dagster_encord.planner.limits import MAX_CSV_ROWS, check_manifest_size
from dagster_encord.planner.manifest import ManifestItem, render_csv, render_json

Packing = Literal["dense", "stable"]
PACKINGS: tuple[str, ...] = ("dense", "stable")

# Dense packing: anchors average this many budgets apart. Fill is about A / (A + 0.5) (the last
# chunk of a span is on average half full), while one added item re-packs on average the rest of
# its span (about A / 2 chunks): 6 gives ~0.92 fill.
ANCHOR_SPAN_BUDGETS = 6
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
    """Streams items of one lane (sorted by item_key) into chunks, packed as `packing` says."""

    def __init__(
        self,
        lane: str,
        budget: int,
        *,
        packing: Packing = "dense",
        namespace: str = "",
        format: str = "json",
        upsert_metadata: bool = False,
    ) -> None:
        if packing not in PACKINGS:
            raise PlanningError(f"planner packing {packing!r}: expected one of {PACKINGS}")
        self.lane = lane
        self.budget = min(budget, MAX_CSV_ROWS) if format == "csv" else budget
        self.packing = packing
        self.namespace = namespace
        self.format = format
        self.upsert_metadata = upsert_metadata
        # stable: the current level-1 segment; dense: the chunk being filled.
        self._segment: list[_Entry] = []
        self._segment_urls = 0

    def add(self, item: ManifestItem) -> Iterator[Chunk]:
        entry = _Entry(
            item, item_fingerprint(item), boundary_digest(item.item_key), len(item.members)
        )
        if self.packing == "dense":
            yield from self._add_dense(entry)
            return
        self._segment.append(entry)
        self._segment_urls += entry.urls
        if (
            boundary_score(entry.digest, 1) < entry.urls / self.budget
            or self._segment_urls >= _SEGMENT_MEMORY_CAP * self.budget
        ):
            yield from self.flush()

    def _add_dense(self, entry: _Entry) -> Iterator[Chunk]:
        if self._segment and self._segment_urls + entry.urls > self.budget:
            yield from self.flush()
        self._segment.append(entry)
        self._segment_urls += entry.urls
        anchor = boundary_score(entry.digest, 1) < entry.urls / (ANCHOR_SPAN_BUDGETS * self.budget)
        if anchor or self._segment_urls >= self.budget:
            yield from self.flush()

    def flush(self) -> Iterator[Chunk]:
        segment, self._segment, self._segment_urls = self._segment, [], 0
        if not segment:
            return
        if self.packing == "dense":
            yield self._chunk(segment)
            return
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
