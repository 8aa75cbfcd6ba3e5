"""The clientMetadata stored on Encord items (no Dagster): read it in bulk, list a folder's, and
merge updates into it with bulk patches.

Requests: items are read with one request per `read_batch_size` uuids and patched with one
request per 1,000 changed items (`EncordClient.get_items`, `patch_items_metadata`). An item whose
metadata already holds the update is not patched.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dagster_encord.encord_client.storage import (
    PATCH_BATCH_LIMIT,
    READ_BATCH_SIZE,
    StoredItem,
    check_patch_batch_size,
)
from dagster_encord.metadata.upsert import canonical_json, merge_metadata

if TYPE_CHECKING:
    from dagster_encord.encord_client.client import EncordClient


@dataclass
class PatchOutcome:
    """Per item: patched (with the metadata now stored), unchanged, or an error."""

    patched: dict[str, dict[str, Any]] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def read_metadata(
    client: EncordClient, item_uuids: Sequence[str], *, batch_size: int = READ_BATCH_SIZE
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Item uuid -> stored clientMetadata, and item uuid -> error for unreadable items."""
    read = client.get_items(item_uuids, batch_size=batch_size)
    return {
        item_uuid: dict(item.client_metadata) for item_uuid, item in read.items.items()
    }, read.errors


def iter_folder_metadata(
    client: EncordClient, folder: str, *, page_size: int = 1000
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(item uuid, url or name, clientMetadata) for every item directly in the folder, listed in
    pages of `page_size` items (one request each)."""
    for item in client.iter_folder_items_with_metadata(folder, page_size=page_size):
        yield item.item_uuid, item.url or item.name, dict(item.client_metadata)


def merged_changes(
    updates: Iterable[tuple[StoredItem, Mapping[str, Any]]],
) -> tuple[list[tuple[StoredItem, dict[str, Any]]], list[str]]:
    """(items to patch with their merged metadata, uuids of items already holding the update).

    The merged object is sent, so the result is a merge whether the server merges or replaces.
    """
    pending: list[tuple[StoredItem, dict[str, Any]]] = []
    unchanged: list[str] = []
    for item, update in updates:
        current = dict(item.client_metadata)
        merged = merge_metadata(current, update)
        if canonical_json(merged) == canonical_json(current):
            unchanged.append(item.item_uuid)
        else:
            pending.append((item, merged))
    return pending, unchanged


def patch_metadata(
    client: EncordClient,
    updates: Mapping[str, Mapping[str, Any]],
    *,
    batch_size: int = PATCH_BATCH_LIMIT,
    read_batch_size: int = READ_BATCH_SIZE,
) -> PatchOutcome:
    """Merge `updates` (item uuid -> keys to set) into items' metadata with bulk patches.

    Each item's current metadata is read (bulk) and merged with the update; items whose metadata
    would not change are not patched.
    """
    check_patch_batch_size(batch_size)
    outcome = PatchOutcome()
    read = client.get_items(list(updates), batch_size=read_batch_size)
    outcome.errors.update(read.errors)
    found = [
        (read.items[item_uuid], update)
        for item_uuid, update in updates.items()
        if item_uuid in read.items
    ]
    pending, outcome.unchanged = merged_changes(found)
    sent = client.patch_items_metadata(pending, batch_size=batch_size)
    outcome.patched.update(sent.patched)
    outcome.errors.update(sent.errors)
    return outcome
