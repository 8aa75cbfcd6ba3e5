"""v2 storage routes for items: list/find (paged), get, bulk get, child items (frames of a group),
update, bulk patch (up to 1,000 items, all-or-nothing), delete and move. clientMetadata is checked
against the schema and the 10 MB limit; a patch replaces an item's whole metadata object."""

from __future__ import annotations

import copy
from typing import Any

from dagster_encord.emulator.context import Ctx
from dagster_encord.emulator.groups import child_items
from dagster_encord.emulator.manifest import check_metadata_size
from dagster_encord.emulator.metadata import check_item_metadata
from dagster_encord.emulator.records import DataRow, Item
from dagster_encord.emulator.routes_storage import (
    bulk_patches,
    folder_or_403,
    patch_name_and_description,
)
from dagster_encord.emulator.wire import ApiError, found_or_403, item_json

ITEM_PATCH_FIELDS = {
    "name",
    "description",
    "clientMetadata",
    "timeseriesSettings",
    "sceneViewSettings",
    "sceneLayout",
}


def item_or_403(ctx: Ctx, item_uuid: str) -> Item:
    return found_or_403(ctx.state.items, item_uuid, "storage item")


def _listing(ctx: Ctx, folder_uuids: list[str]) -> list[str]:
    search = (ctx.query.get("search") or "").lower()
    item_types = tuple(sorted(ctx.q_list("itemTypes")))
    in_dataset = ctx.q_bool("isInDataset")
    order = ctx.query.get("order", "name")
    if order not in ("name", "createdAt"):
        raise ApiError(400, f"order={order!r} must be name or createdAt")
    desc = bool(ctx.q_bool("desc", False))
    state = ctx.state
    versions = tuple(state.folder_version[f] for f in folder_uuids)
    cache_key = (tuple(folder_uuids), search, item_types, in_dataset, order, desc, versions)
    cached = state.listing_cache.get(cache_key)
    if cached is not None:
        return cached
    chosen: list[Item] = []
    for folder_uuid in folder_uuids:
        for item_uuid in state.folder_items.get(folder_uuid, {}):
            item = state.items[item_uuid]
            if search and search not in item.name.lower():
                continue
            if item_types and item.item_type not in item_types:
                continue
            if in_dataset is not None and (item.backed_data_units > 0) != in_dataset:
                continue
            chosen.append(item)
    chosen.sort(
        key=(lambda i: (i.name, i.uuid)) if order == "name" else (lambda i: (i.created_at, i.uuid)),
        reverse=desc,
    )
    if len(state.listing_cache) > 64:
        state.listing_cache.clear()
    result = [i.uuid for i in chosen]
    state.listing_cache[cache_key] = result
    return result


def list_items(ctx: Ctx) -> dict[str, Any]:
    with ctx.state.lock:
        folder = folder_or_403(ctx, ctx.path_params["folder_uuid"])
        recursive = bool(ctx.q_bool("isRecursive", False))
        folders = ctx.state.subtree(folder.uuid) if recursive else [folder.uuid]
        uuids = _listing(ctx, folders)
        signer = ctx.url_signer() if ctx.q_bool("signUrls", False) else None
        metadata = bool(ctx.q_bool("includeClientMetadata", True))
        return ctx.page(uuids, lambda u: item_json(ctx.state.items[u], signer, metadata))


def search_items(ctx: Ctx) -> dict[str, Any]:
    with ctx.state.lock:
        uuids = _listing(ctx, list(ctx.state.folders))
        signer = ctx.url_signer() if ctx.q_bool("signUrls", False) else None
        return ctx.page(uuids, lambda u: item_json(ctx.state.items[u], signer))


def get_item(ctx: Ctx) -> dict[str, Any]:
    with ctx.state.lock:
        item = item_or_403(ctx, ctx.path_params["item_uuid"])
        return item_json(item, ctx.url_signer() if ctx.q_bool("signUrl", False) else None)


def get_items_bulk(ctx: Ctx) -> dict[str, Any]:
    body = ctx.json_object({"itemUuids", "signUrls"})
    uuids = body.get("itemUuids")
    if not isinstance(uuids, list):
        raise ApiError(400, "itemUuids must be a list of item uuids")
    signer = ctx.url_signer() if body.get("signUrls") else None
    with ctx.state.lock:
        return {"results": [item_json(item_or_403(ctx, str(u)), signer) for u in uuids]}


def get_child_items(ctx: Ctx) -> dict[str, Any]:
    """A group's children in frame order, as one `Page` (the SDK reads no further page)."""
    with ctx.state.lock:
        folder = folder_or_403(ctx, ctx.path_params["folder_uuid"])
        item = item_or_403(ctx, ctx.path_params["item_uuid"])
        if item.parent != folder.uuid:
            raise ApiError(400, f"item {item.uuid} is not in folder {folder.uuid}")
        signer = ctx.url_signer() if ctx.q_bool("signUrls", False) else None
        children = child_items(ctx.state, item)
        return {"results": [item_json(child, signer) for child in children]}


def item_summary(ctx: Ctx) -> dict[str, Any]:
    """Where an item is used: the groups that hold it as a frame and the datasets it backs."""
    state = ctx.state
    with state.lock:
        folder = folder_or_403(ctx, ctx.path_params["folder_uuid"])
        item = item_or_403(ctx, ctx.path_params["item_uuid"])
        if item.parent != folder.uuid:
            raise ApiError(400, f"item {item.uuid} is not in folder {folder.uuid}")
        groups = [g for g in state.items.values() if item.uuid in g.child_uuids]
        rows: dict[str, list[DataRow]] = {}
        for row in state.data_rows.values():
            if row.item_uuid == item.uuid:
                rows.setdefault(row.dataset_hash, []).append(row)
        datasets = [(state.datasets[h], r) for h, r in rows.items() if h in state.datasets]
        return {
            "frameInGroups": len(groups),
            "accessibleGroupItems": [
                {
                    "uuid": g.uuid,
                    "name": g.name,
                    "parentUuid": g.parent,
                    "parentName": state.folders[g.parent].name if g.parent in state.folders else "",
                    "itemType": g.item_type,
                }
                for g in groups
            ],
            "usedInDatasets": len(datasets),
            "accessibleDatasets": [
                {
                    "datasetHash": d.uuid,
                    "backingFolderUuid": d.backing_folder_uuid,
                    "title": d.title,
                    "dataHashes": [r.data_hash for r in d_rows],
                    "dataUnitsCreatedAt": min(r.created_at for r in d_rows),
                }
                for d, d_rows in datasets
            ],
            "groupLayout": None,
        }


def _apply_item_patch(ctx: Ctx, item: Item, body: Any, where: str) -> None:
    patch = patch_name_and_description(item, body, where, ITEM_PATCH_FIELDS)
    if "clientMetadata" in patch:
        metadata = patch["clientMetadata"]
        if not isinstance(metadata, dict):
            raise ApiError(400, f"{where}.clientMetadata must be a JSON object")
        check_metadata_size(metadata, where)
        problem = check_item_metadata(ctx.state, metadata)
        if problem is not None:
            raise ApiError(400, f"{where}.clientMetadata (item {item.uuid}, {item.url}): {problem}")
        item.client_metadata = metadata
    item.last_edited_at = ctx.state.clock.now_iso()


def update_item(ctx: Ctx) -> dict[str, Any]:
    with ctx.state.lock:
        folder = folder_or_403(ctx, ctx.path_params["folder_uuid"])
        item = copy.copy(item_or_403(ctx, ctx.path_params["item_uuid"]))  # saved only if valid
        if item.parent != folder.uuid:
            raise ApiError(400, f"item {item.uuid} is not in folder {folder.uuid}")
        _apply_item_patch(ctx, item, ctx.json(), "request body")
        ctx.state.save(item)
        return item_json(item)


def patch_items_bulk(ctx: Ctx) -> dict[str, Any]:
    patches = bulk_patches(ctx, "itemPatches", "item")
    with ctx.state.lock:
        items = [copy.copy(item_or_403(ctx, item_uuid)) for item_uuid in patches]
        for item in items:
            _apply_item_patch(ctx, item, patches[item.uuid], f"itemPatches[{item.uuid}]")
        ctx.state.save_many(items)
        return {"results": [item_json(i) for i in items]}


def delete_items(ctx: Ctx) -> dict[str, Any]:
    body = ctx.json_object({"childUuids", "removeUnusedFrames"})
    uuids = body.get("childUuids")
    if not isinstance(uuids, list):
        raise ApiError(400, "childUuids must be a list of item uuids")
    with ctx.state.lock:
        folder = folder_or_403(ctx, ctx.path_params["folder_uuid"])
        frames: list[str] = []
        for item_uuid in uuids:
            item = item_or_403(ctx, str(item_uuid))
            if item.parent != folder.uuid:
                raise ApiError(
                    400, f"item {item_uuid} is not a direct child of folder {folder.uuid}"
                )
            frames += [frame.uuid for frame in ctx.state.own_frames(item)]
        ctx.state.drop("item", [str(u) for u in uuids] + frames)
        return {"removedItemsCount": len(uuids), "removedFoldersCount": 0}


def move_items(ctx: Ctx) -> dict[str, Any]:
    body = ctx.json_object({"itemUuids", "newParentUuid", "allowSyncedDatasetMove"})
    with ctx.state.lock:
        folder_or_403(ctx, ctx.path_params["folder_uuid"])
        target = folder_or_403(ctx, str(body.get("newParentUuid")))
        items = [item_or_403(ctx, str(u)) for u in body.get("itemUuids") or []]
        items += [frame for item in items for frame in ctx.state.own_frames(item)]
        for item in items:
            ctx.state.drop("item", [item.uuid])
            item.parent = target.uuid
        ctx.state.save_many(items)
    return {}


ROUTES = [
    ("GET", "/v2/public/storage/search/items", search_items),
    ("POST", "/v2/public/storage/items/get-bulk", get_items_bulk),
    ("PATCH", "/v2/public/storage/items/patch-bulk", patch_items_bulk),
    ("GET", "/v2/public/storage/items/{item_uuid}", get_item),
    ("GET", "/v2/public/storage/folders/{folder_uuid}/items", list_items),
    (
        "GET",
        "/v2/public/storage/folders/{folder_uuid}/items/{item_uuid}/child-items",
        get_child_items,
    ),
    ("GET", "/v2/public/storage/folders/{folder_uuid}/items/{item_uuid}/summary", item_summary),
    ("POST", "/v2/public/storage/folders/{folder_uuid}/items/delete", delete_items),
    ("POST", "/v2/public/storage/folders/{folder_uuid}/items/move", move_items),
    ("PATCH", "/v2/public/storage/folders/{folder_uuid}/items/{item_uuid}", update_item),
]
