"""Frames of multi-file items as storage items of their own.

An image group's, image sequence's or DICOM series' files become child items (itemType `image`,
or `dicomFile` for a series) with their own uuid, URL, title and clientMetadata, so
`StorageItem.get_child_items()` and per-frame metadata patches work as on Encord. Frames live in
the group's folder but are not listed there and take no part in duplicate checks (the group's
frame URLs do). An image group built from existing image items (`dataItems.imageGroupsFromItems`)
has those items as its children instead.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from dagster_encord.emulator.manifest import default_title
from dagster_encord.emulator.records import Item, new_uuid
from dagster_encord.emulator.state import EmulatorState
from dagster_encord.emulator.verify import extension
from dagster_encord.emulator.wire import ApiError

FRAME_TYPES = {"imageGroup": "image", "imageSequence": "image", "dicomSeries": "dicomFile"}


def make_frames(
    group: Item,
    unit: dict[str, Any],
    sizes: dict[str, int],
    probed: dict[str, dict[str, Any]],
    stamp: str,
) -> list[Item]:
    """New frame items for a just-created group; sets `group.child_uuids` (frame order).
    `sizes` are file sizes and `probed` header sizes by URL; a frame's imageMetadata wins."""
    if "fromItems" in unit:
        group.child_uuids = list(unit["fromItems"])
        return []
    described: list[dict[str, Any]] = unit.get("frames") or []
    frames: list[Item] = []
    for index, url in enumerate(unit["urls"]):
        about = described[index] if index < len(described) else {}
        suffix = extension(url)
        media: dict[str, Any] = {
            "mimeType": mimetypes.types_map.get(f".{suffix}") if suffix else None
        }
        if url in sizes:
            media["fileSize"] = sizes[url]
        media.update(probed.get(url, {}))
        media.update(about.get("media") or {})
        frames.append(
            Item(
                uuid=new_uuid(),
                parent=group.parent,
                item_type=FRAME_TYPES.get(group.item_type, "image"),
                name=about.get("title") or default_title(url),
                url=url,
                integration_hash=group.integration_hash,
                storage_location=group.storage_location,
                client_metadata={},  # Encord keeps a group's metadata on the group
                created_at=stamp,
                last_edited_at=stamp,
                media=media,
                group_uuid=group.uuid,
            )
        )
    group.child_uuids = [frame.uuid for frame in frames]
    return frames


def resolve_from_items(state: EmulatorState, units: list[dict[str, Any]]) -> None:
    """Fill each `imageGroupsFromItems` unit's frame URLs (and default title) from its image
    items; a missing item or one that is not an image is a 400 naming the entry."""
    with state.lock:
        for unit in units:
            item_uuids = unit.get("fromItems")
            if item_uuids is None:
                continue
            urls: list[str] = []
            for index, item_uuid in enumerate(item_uuids):
                where = f"{unit['entry']}.imageItems[{index}]"
                item = state.items.get(item_uuid)
                if item is None:
                    raise ApiError(
                        400, f"{where}: storage item {item_uuid} does not exist or is not visible"
                    )
                if item.item_type != "image" or item.url is None:
                    raise ApiError(
                        400, f"{where}: item {item_uuid} is a {item.item_type}, not an image"
                    )
                urls.append(item.url)
            unit["urls"] = urls
            unit["media"] = {"frameCount": len(urls)}
            unit["title"] = unit["title"] or default_title(urls[0])


def child_items(state: EmulatorState, group: Item) -> list[Item]:
    """The group's children in frame order (items deleted since are left out)."""
    with state.lock:
        found = (state.items.get(item_uuid) for item_uuid in group.child_uuids)
        return [item for item in found if item is not None]
