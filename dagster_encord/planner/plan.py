"""The planner: object records in, chunks of Encord registration manifests out (pure Python).

```python
plan = plan_records(records, PlannerConfig(), metadata_for=lambda r: {...})
for chunk in plan.chunks:
    write(chunk.filename, chunk.manifest_text())
plan.skipped   # SkippedFile(key, object_url, reason) for every record left out
plan.held      # HeldGroup for groups still inside their quiet period
```

`ManifestPlanner.iter_chunks()` streams over records sorted by key (as the ledger delivers them):
single-file items are chunked as they arrive; a folder or prefix group is chunked as soon as the
stream leaves its folder (keys under one folder are contiguous in key order); regex groups, which
may gather files from anywhere, are held in memory and chunked at the end.

Per-file problems (unsupported type, URL over 16 KB, whitespace in a CSV URL, invalid `$encord`,
a metadata callable that raises) skip that file (or its whole group) with a reason; planning goes
on for the rest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dagster_encord.errors import DagsterEncordError
from dagster_encord.planner.chunking import Chunk, LaneChunker
from dagster_encord.planner.classify import Classifier, DataType, SkippedFile
from dagster_encord.planner.config import LANES, PlannerConfig
from dagster_encord.planner.group import (
    Grouper,
    GroupMatch,
    HeldGroup,
    folder_of,
    order_members,
    quiet_hold,
)
from dagster_encord.planner.limits import MAX_URLS_PER_MANIFEST, url_problem
from dagster_encord.planner.manifest import (
    CSV_LANES,
    GROUP_LANES,
    ManifestItem,
    client_metadata_problem,
    media_metadata,
    single_title,
)
from dagster_encord.sources.base import ObjectRecord

MetadataFor = Callable[[ObjectRecord], Mapping[str, Any] | None]
GroupMetadataFor = Callable[[str, Sequence[ObjectRecord]], Mapping[str, Any] | None]

_SINGLE_LANES: dict[DataType, str] = {
    DataType.IMAGE: "image",
    DataType.VIDEO: "video",
    DataType.AUDIO: "audio",
    DataType.TEXT: "text",
    DataType.PDF: "pdf",
    DataType.NIFTI: "nifti",
}


@dataclass
class PlanTotals:
    """Figures for a summary table: per lane items, files, bytes and chunks."""

    items: Counter[str] = field(default_factory=Counter)
    files: Counter[str] = field(default_factory=Counter)
    bytes: Counter[str] = field(default_factory=Counter)
    chunks: Counter[str] = field(default_factory=Counter)

    def add(self, chunk: Chunk) -> None:
        self.items[chunk.lane] += chunk.item_count
        self.files[chunk.lane] += chunk.url_count
        self.bytes[chunk.lane] += chunk.bytes
        self.chunks[chunk.lane] += 1


@dataclass
class Plan:
    chunks: list[Chunk]
    skipped: list[SkippedFile]
    held: list[HeldGroup]
    warnings: list[str]

    @property
    def totals(self) -> PlanTotals:
        totals = PlanTotals()
        for chunk in self.chunks:
            totals.add(chunk)
        return totals


class ManifestPlanner:
    """Turns records into chunks. `skipped`, `held` and `warnings` fill while iterating."""

    def __init__(
        self,
        config: PlannerConfig | None = None,
        *,
        namespace: str = "",
        metadata_for: MetadataFor | None = None,
        media_metadata_for: MetadataFor | None = None,
        group_metadata_for: GroupMetadataFor | None = None,
        now: datetime | None = None,
    ) -> None:
        self.config = config or PlannerConfig()
        self.namespace = namespace
        self.metadata_for = metadata_for
        self.media_metadata_for = media_metadata_for
        self.group_metadata_for = group_metadata_for
        self.now = now or datetime.now(UTC)
        self.skipped: list[SkippedFile] = []
        self.held: list[HeldGroup] = []
        self.warnings: list[str] = []
        self._classifier = Classifier(self.config.extensions, self.config.content_types)
        self._grouper = Grouper(self.config.groups)
        self._csv = self.config.format == "csv"
        self._metadata_in_csv = 0

    def iter_chunks(
        self, records: Iterable[ObjectRecord], *, presorted: bool = False
    ) -> Iterator[Chunk]:
        """Chunks in a deterministic order. Pass presorted=True only for key-sorted input."""
        if not presorted:
            records = sorted(records, key=lambda record: record.key)
        chunkers = {
            lane: LaneChunker(
                lane,
                self.config.budget_for(lane),
                packing=self.config.packing,
                namespace=self.namespace,
                format=self.config.format,
                upsert_metadata=self.config.upsert_metadata,
            )
            for lane in LANES
        }
        groups: dict[str, tuple[GroupMatch, list[tuple[str, ObjectRecord]]]] = {}
        # Folder and prefix groups live under one folder, whose keys are contiguous in key order:
        # such a group is complete, and is chunked at once, when the stream leaves its folder.
        closable: dict[str, str] = {}
        for record in records:
            if closable:
                for item_key in [k for k, p in closable.items() if not record.key.startswith(p)]:
                    del closable[item_key]
                    yield from self._emit_group(groups.pop(item_key), chunkers)
            data_type = self._classifier.classify(record)
            if isinstance(data_type, SkippedFile):
                self.skipped.append(data_type)
                continue
            match = self._grouper.match(record, data_type)
            if match is not None:
                if match.item_key not in groups:
                    groups[match.item_key] = (match, [])
                    folder = folder_of(record.key)
                    if match.rule.by != "regex" and folder:
                        closable[match.item_key] = folder + "/"
                groups[match.item_key][1].append((match.order_key, record))
                continue
            item = self._single_item(record, _SINGLE_LANES[data_type])
            if item is not None:
                yield from chunkers[item.lane].add(item)
        for lane in LANES:
            if lane not in GROUP_LANES:
                yield from chunkers[lane].flush()
        for item_key in sorted(groups):
            yield from self._emit_group(groups.pop(item_key), chunkers)
        for lane in LANES:
            if lane in GROUP_LANES:
                yield from chunkers[lane].flush()
        if self._metadata_in_csv:
            self.warnings.append(
                f"{self._metadata_in_csv} item(s) carry clientMetadata or media metadata, which "
                "CSV manifests cannot hold; it is not registered. Use format: json to keep it"
            )

    def _emit_group(
        self,
        group: tuple[GroupMatch, list[tuple[str, ObjectRecord]]],
        chunkers: Mapping[str, LaneChunker],
    ) -> Iterator[Chunk]:
        item = self._group_item(*group)
        if item is not None:
            yield from chunkers[item.lane].add(item)

    def _skip(self, records: Sequence[ObjectRecord], reason: str) -> None:
        self.skipped.extend(SkippedFile(r.key, r.object_url, reason) for r in records)

    def _single_item(self, record: ObjectRecord, lane: str) -> ManifestItem | None:
        if self._csv and lane not in CSV_LANES:
            self._skip(
                [record],
                f"{lane} files cannot be registered with a CSV manifest (CSV covers images, "
                "videos, image groups/sequences and DICOM); use format: json",
            )
            return None
        problem = url_problem(record.object_url, record.key, csv=self._csv)
        if problem:
            self._skip([record], problem)
            return None
        try:
            client = self.metadata_for(record) if self.metadata_for else None
            media = self.media_metadata_for(record) if self.media_metadata_for else None
        except DagsterEncordError as error:
            self._skip([record], f"metadata for {record.key!r}: {error}")
            return None
        if client is not None:
            problem = client_metadata_problem(lane, client, record.key)
            if problem:
                self._skip([record], problem)
                return None
        if media is not None and lane == "nifti":
            media = None  # Encord documents no media metadata block for NIfTI.
        if self._csv and (client or media):
            self._metadata_in_csv += 1
        return ManifestItem(
            lane=lane,
            item_key=record.key,
            members=(record,),
            title=single_title(self.config.title_template, record.key),
            client_metadata=client,
            media_metadata=media_metadata(lane, media, record) if media is not None else None,
        )

    def _group_item(
        self, match: GroupMatch, members: list[tuple[str, ObjectRecord]]
    ) -> ManifestItem | None:
        rule = match.rule
        records = order_members(rule, members)
        hold = quiet_hold(match.item_key, records, self.config.quiet_period_minutes, self.now)
        if hold is not None:
            self.held.append(hold)
            return None
        limit = MAX_URLS_PER_MANIFEST if not self._csv else self.config.budget_for(rule.kind)
        if len(records) > limit:
            self._skip(
                records,
                f"{rule.kind} {match.group!r} has {len(records):,} files, over the limit of "
                f"{limit:,} URLs per manifest; a group is never split, so split it at the source",
            )
            return None
        for record in records:
            problem = url_problem(record.object_url, record.key, csv=self._csv)
            if problem:
                self._skip(records, f"{rule.kind} {match.group!r} not registered: {problem}")
                return None
        try:
            client = (
                self.group_metadata_for(match.group, records) if self.group_metadata_for else None
            )
        except DagsterEncordError as error:
            self._skip(records, f"metadata for {rule.kind} {match.group!r}: {error}")
            return None
        if client is not None:
            problem = client_metadata_problem(rule.kind, client, match.item_key)
            if problem:
                self._skip(records, problem)
                return None
        if self._csv and client:
            self._metadata_in_csv += 1
        folder = records[0].key.rpartition("/")[0]
        title = rule.title.format(group=match.group, folder=folder, count=len(records))
        title = title or records[0].key  # files at the bucket root: DICOM requires a title
        return ManifestItem(
            lane=rule.kind,
            item_key=match.item_key,
            members=tuple(records),
            title=title,
            client_metadata=client,
        )


def plan_records(
    records: Iterable[ObjectRecord],
    config: PlannerConfig | None = None,
    *,
    namespace: str = "",
    metadata_for: MetadataFor | None = None,
    media_metadata_for: MetadataFor | None = None,
    group_metadata_for: GroupMetadataFor | None = None,
    now: datetime | None = None,
) -> Plan:
    """Plan a whole listing in memory (small listings, tests, the CLI without a ledger)."""
    planner = ManifestPlanner(
        config,
        namespace=namespace,
        metadata_for=metadata_for,
        media_metadata_for=media_metadata_for,
        group_metadata_for=group_metadata_for,
        now=now,
    )
    chunks = list(planner.iter_chunks(records))
    return Plan(chunks, planner.skipped, planner.held, planner.warnings)
