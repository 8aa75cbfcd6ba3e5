"""The upsert plan for clientMetadata: which files carry it inline, which are re-registered, which
are bulk-patched, and the read-back check afterwards. Pure: no SDK, no I/O.

- New files (no item uuid yet) carry their metadata inline in the registration JSON.
- Existing files whose metadata changed go one of two ways:
  * `reregister`: a registration JSON with `skip_duplicate_urls` + `upsert_metadata`; Encord
    OVERWRITES the item's metadata with the given object (seed 003, "Update Custom Metadata").
  * `patch`: bulk item patches through the SDK's `Bundle`, at most 1,000 items per request;
    this MERGES: the given keys are updated, the item's other keys are kept (seed 004).
- Metadata that fails validation is rejected per file and never sent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from dagster_encord.encord_client.storage import PATCH_BATCH_LIMIT, check_patch_batch_size
from dagster_encord.metadata.validate import MetadataValidator, MetadataViolation

UpsertMode = Literal["patch", "reregister"]
UPSERT_MODES: frozenset[str] = frozenset({"patch", "reregister"})


@dataclass(frozen=True, slots=True)
class MetadataUpdate:
    """The wanted metadata of one file.

    `item_uuid` is None for a file not yet registered. `data_type` is the registration JSON's
    top-level key (`images`, `videos`, `audio`, ...) used when re-registering. When
    `previous_fingerprint` equals the new metadata's fingerprint the file is left alone.
    """

    object_url: str
    metadata: Mapping[str, Any]
    item_uuid: str | None = None
    data_type: str = "images"
    title: str | None = None
    previous_fingerprint: str | None = None


def canonical_json(metadata: Mapping[str, Any]) -> str:
    """jsonb keeps neither key order nor duplicates, so compare on sorted, compact JSON."""
    return json.dumps(metadata, sort_keys=True, separators=(",", ":"), allow_nan=False)


def metadata_fingerprint(metadata: Mapping[str, Any] | None) -> str:
    """A short content hash of metadata; the ledger stores it to detect changes cheaply."""
    return hashlib.sha256(canonical_json(metadata or {}).encode()).hexdigest()[:32]


def merge_metadata(current: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Patch semantics: the update's keys win, every other current key is kept."""
    merged = dict(current)
    merged.update(update)
    return merged


@dataclass(frozen=True)
class UpsertPlan:
    """What `metadata_upserts` sends. `patch_batches` hold item uuid -> metadata, ≤ batch size."""

    mode: UpsertMode
    inline: tuple[MetadataUpdate, ...] = ()
    patch_batches: tuple[dict[str, dict[str, Any]], ...] = ()
    reregister: tuple[MetadataUpdate, ...] = ()
    unchanged: tuple[str, ...] = ()
    rejected: tuple[MetadataViolation, ...] = ()
    url_by_item: Mapping[str, str] = field(default_factory=dict)

    @property
    def patch_count(self) -> int:
        return sum(len(batch) for batch in self.patch_batches)


def plan_upserts(
    updates: Iterable[MetadataUpdate],
    *,
    mode: UpsertMode = "patch",
    validator: MetadataValidator | None = None,
    batch_size: int = PATCH_BATCH_LIMIT,
) -> UpsertPlan:
    """Sort updates into inline / patch / re-register / unchanged / rejected."""
    if mode not in UPSERT_MODES:
        raise ValueError(f"upsert mode must be 'patch' or 'reregister', got {mode!r}")
    check_patch_batch_size(batch_size)
    inline: list[MetadataUpdate] = []
    patches: dict[str, dict[str, Any]] = {}
    reregister: list[MetadataUpdate] = []
    unchanged: list[str] = []
    rejected: list[MetadataViolation] = []
    url_by_item: dict[str, str] = {}
    for update in updates:
        if validator is not None:
            errors = validator.errors(update.metadata, file=update.object_url)
            if errors:
                rejected.extend(errors)
                continue
        if update.item_uuid is None:
            inline.append(update)
        elif update.previous_fingerprint == metadata_fingerprint(update.metadata):
            unchanged.append(update.object_url)
        elif mode == "patch":
            patches[update.item_uuid] = dict(update.metadata)
            url_by_item[update.item_uuid] = update.object_url
        else:
            reregister.append(update)
            url_by_item[update.item_uuid] = update.object_url
    return UpsertPlan(
        mode=mode,
        inline=tuple(inline),
        patch_batches=tuple(_batches(patches, batch_size)),
        reregister=tuple(reregister),
        unchanged=tuple(unchanged),
        rejected=tuple(rejected),
        url_by_item=url_by_item,
    )


def _batches(
    patches: Mapping[str, dict[str, Any]], size: int
) -> Iterator[dict[str, dict[str, Any]]]:
    items = list(patches.items())
    for start in range(0, len(items), size):
        yield dict(items[start : start + size])


def with_inline_metadata(
    entry: Mapping[str, Any], metadata: Mapping[str, Any] | None
) -> dict[str, Any]:
    """A registration entry (`{"objectUrl": ...}`) with its clientMetadata inline."""
    result = dict(entry)
    if metadata:
        result["clientMetadata"] = dict(metadata)
    return result


def reregister_manifest(updates: Sequence[MetadataUpdate]) -> dict[str, Any]:
    """A registration JSON that overwrites existing items' metadata (and registers any new file).

    Both flags are required: `upsert_metadata` does nothing without `skip_duplicate_urls`.
    """
    manifest: dict[str, Any] = {}
    for update in updates:
        entry: dict[str, Any] = {"objectUrl": update.object_url}
        if update.title:
            entry["title"] = update.title
        entry["clientMetadata"] = dict(update.metadata)
        manifest.setdefault(update.data_type, []).append(entry)
    manifest["skip_duplicate_urls"] = True
    manifest["upsert_metadata"] = True
    return manifest


def verify_readback(
    expected: Mapping[str, Mapping[str, Any]],
    actual: Mapping[str, Mapping[str, Any] | None],
    *,
    mode: UpsertMode,
) -> dict[str, str]:
    """Item uuid -> what is wrong, for every item whose stored metadata is not what was sent.

    `patch` (merge): every sent key must hold the sent value. `reregister` (overwrite): the
    stored object must equal the sent one.
    """
    problems: dict[str, str] = {}
    for item_uuid, sent in expected.items():
        stored = actual.get(item_uuid)
        if stored is None:
            problems[item_uuid] = "item not found when reading metadata back"
            continue
        if mode == "reregister":
            if canonical_json(stored) != canonical_json(sent):
                problems[item_uuid] = "stored metadata differs from the metadata sent"
            continue
        wrong = sorted(
            key
            for key, value in sent.items()
            if key not in stored
            or canonical_json({"v": stored[key]}) != canonical_json({"v": value})
        )
        if wrong:
            problems[item_uuid] = f"keys not stored as sent: {wrong[:10]}"
    return problems
