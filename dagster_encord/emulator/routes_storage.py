"""v2 storage routes for folders (create, get, list/find, summary, update, move, delete), cloud
integrations and bearer tokens. Items live in routes_items."""

from __future__ import annotations

import copy
import json
from typing import Any

from dagster_encord.emulator.context import Ctx
from dagster_encord.emulator.records import Folder, Item, new_uuid
from dagster_encord.emulator.wire import ApiError, folder_json, found_or_403

BULK_LIMIT = 1000
FOLDER_PATCH_FIELDS = {"name", "description", "clientMetadata"}
SUMMARY_FIELDS = {
    "video": "videos",
    "image": "images",
    "imageGroup": "imageGroups",
    "imageSequence": "imageSequences",
    "dicomFile": "dicomFiles",
    "dicomSeries": "dicomSeries",
    "nifti": "niftis",
    "audio": "audios",
    "pdf": "pdfs",
    "plainText": "plainTexts",
}


def folder_or_403(ctx: Ctx, folder_uuid: str) -> Folder:
    return found_or_403(ctx.state.folders, folder_uuid, "folder")


# --- folders -------------------------------------------------------------------------------


def create_folder(ctx: Ctx) -> dict[str, Any]:
    body = ctx.json_object(
        {"name", "description", "parent", "clientMetadata", "cloudSyncedFolderParams"}
    )
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, "folder name must be a non-empty string")
    if body.get("parent") is not None and not isinstance(body["parent"], str):
        raise ApiError(400, "parent must be a folder uuid string")
    metadata = body.get("clientMetadata")
    if metadata is not None:
        try:
            metadata = json.loads(metadata) if isinstance(metadata, str) else None
        except ValueError:
            metadata = None
        if not isinstance(metadata, dict):
            raise ApiError(400, "clientMetadata must be a JSON-encoded object string")
    stamp = ctx.state.clock.now_iso()
    folder = Folder(
        uuid=new_uuid(),
        name=name,
        description=str(body.get("description") or ""),
        parent=body.get("parent"),
        client_metadata=metadata,
        created_at=stamp,
        last_edited_at=stamp,
    )
    with ctx.state.lock:
        if folder.parent is not None:
            folder_or_403(ctx, folder.parent)
        synced = body.get("cloudSyncedFolderParams")
        if synced is not None:
            if (
                not isinstance(synced, dict)
                or synced.get("integrationUuid") not in ctx.state.integrations
            ):
                raise ApiError(
                    400, "cloudSyncedFolderParams.integrationUuid is not a known integration"
                )
            folder.folder_type = "cloudLinked"
            folder.integration_hash = synced["integrationUuid"]
            folder.remote_url = str(synced.get("remoteUrl") or "")
        ctx.state.save(folder)
        return folder_json(ctx.state, folder)


def get_folder(ctx: Ctx) -> dict[str, Any]:
    with ctx.state.lock:
        return folder_json(ctx.state, folder_or_403(ctx, ctx.path_params["folder_uuid"]))


def patch_name_and_description(
    record: Folder | Item, patch: Any, where: str, allowed: set[str]
) -> dict[str, Any]:
    """Check that `patch` is an object of `allowed` fields; apply its name and description.

    Returns the patch for the caller's other fields. Pass a copy of the stored record: a later
    field may still be invalid.
    """
    if not isinstance(patch, dict):
        raise ApiError(400, f"{where} must be a JSON object")
    for key in patch:
        if key not in allowed:
            raise ApiError(
                400, f"{where}: unknown field '{key}' (allowed: {', '.join(sorted(allowed))})"
            )
    if "name" in patch:
        if not isinstance(patch["name"], str) or not patch["name"]:
            raise ApiError(400, f"{where}.name must be a non-empty string")
        record.name = patch["name"]
    if "description" in patch:
        record.description = str(patch["description"] or "")
    return patch


def _apply_folder_patch(folder: Folder, body: Any, where: str, stamp: str) -> None:
    patch = patch_name_and_description(folder, body, where, FOLDER_PATCH_FIELDS)
    if "clientMetadata" in patch:
        if patch["clientMetadata"] is not None and not isinstance(patch["clientMetadata"], dict):
            raise ApiError(400, f"{where}.clientMetadata must be an object")
        folder.client_metadata = patch["clientMetadata"]
    folder.last_edited_at = stamp


def update_folder(ctx: Ctx) -> dict[str, Any]:
    with ctx.state.lock:
        # Patch a copy, saved only when the whole patch is valid.
        folder = copy.copy(folder_or_403(ctx, ctx.path_params["folder_uuid"]))
        _apply_folder_patch(folder, ctx.json(), "request body", ctx.state.clock.now_iso())
        ctx.state.save(folder)
        return folder_json(ctx.state, folder)


def bulk_patches(ctx: Ctx, field: str, noun: str) -> dict[str, Any]:
    patches = ctx.json_object({field}).get(field)
    if not isinstance(patches, dict):
        raise ApiError(400, f"{field} must be an object keyed by {noun} uuid")
    if len(patches) > BULK_LIMIT:
        raise ApiError(
            400, f"{field} has {len(patches)} {noun}s; the limit is {BULK_LIMIT} per request"
        )
    return patches


def patch_folders_bulk(ctx: Ctx) -> dict[str, Any]:
    patches = bulk_patches(ctx, "folderPatches", "folder")
    with ctx.state.lock:
        # Patch copies and save them only when every patch is valid: a bad entry changes nothing.
        folders = [copy.copy(folder_or_403(ctx, folder_uuid)) for folder_uuid in patches]
        for folder in folders:
            where = f"folderPatches[{folder.uuid}]"
            _apply_folder_patch(folder, patches[folder.uuid], where, ctx.state.clock.now_iso())
        ctx.state.save_many(folders)
        return {"results": [folder_json(ctx.state, f) for f in folders]}


def delete_folder(ctx: Ctx) -> dict[str, Any]:
    with ctx.state.lock:
        folder = folder_or_403(ctx, ctx.path_params["folder_uuid"])
        subtree = ctx.state.subtree(folder.uuid)
        item_uuids = [u for f in subtree for u in ctx.state.folder_items.get(f, {})]
        frames = [
            frame.uuid for u in item_uuids for frame in ctx.state.own_frames(ctx.state.items[u])
        ]
        ctx.state.drop("item", item_uuids + frames)
        ctx.state.drop("folder", subtree)
        return {"removedItemsCount": len(item_uuids), "removedFoldersCount": len(subtree)}


def _sorted_folders(ctx: Ctx, folders: list[Folder]) -> list[Folder]:
    search = (ctx.query.get("search") or "").lower()
    synced = ctx.q_bool("datasetSynced")
    chosen = [
        f
        for f in folders
        if search in f.name.lower()
        and (synced is None or (f.synced_dataset_hash is not None) == synced)
    ]
    order = ctx.query.get("order", "name")
    if order not in ("name", "createdAt"):
        raise ApiError(400, f"order={order!r} must be name or createdAt")
    chosen.sort(key=(lambda f: f.name) if order == "name" else (lambda f: f.created_at))
    if ctx.q_bool("desc", False):
        chosen.reverse()
    return chosen


def list_top_folders(ctx: Ctx) -> dict[str, Any]:
    with ctx.state.lock:
        folders = [f for f in ctx.state.folders.values() if f.parent is None]
        return ctx.page(_sorted_folders(ctx, folders), lambda f: folder_json(ctx.state, f))


def search_folders(ctx: Ctx) -> dict[str, Any]:
    with ctx.state.lock:
        folders = list(ctx.state.folders.values())
        return ctx.page(_sorted_folders(ctx, folders), lambda f: folder_json(ctx.state, f))


def list_subfolders(ctx: Ctx) -> dict[str, Any]:
    with ctx.state.lock:
        folder = folder_or_403(ctx, ctx.path_params["folder_uuid"])
        if ctx.q_bool("isRecursive", False):
            wanted = set(ctx.state.subtree(folder.uuid)) - {folder.uuid}
            folders = [ctx.state.folders[u] for u in wanted]
        else:
            folders = [f for f in ctx.state.folders.values() if f.parent == folder.uuid]
        return ctx.page(_sorted_folders(ctx, folders), lambda f: folder_json(ctx.state, f))


def folder_summary(ctx: Ctx) -> dict[str, Any]:
    with ctx.state.lock:
        folder = folder_or_403(ctx, ctx.path_params["folder_uuid"])
        summary: dict[str, Any] = {name: 0 for name in SUMMARY_FIELDS.values()}
        item_uuids = ctx.state.folder_items.get(folder.uuid, {})
        total_size = 0.0
        for item_uuid in item_uuids:
            item = ctx.state.items[item_uuid]
            summary[SUMMARY_FIELDS.get(item.item_type, "images")] += 1
            total_size += float(item.media.get("fileSize") or 0)
        summary.update(
            files=len(item_uuids),
            folders=sum(1 for f in ctx.state.folders.values() if f.parent == folder.uuid),
            tombstones=0,
            uploadJobs=sum(
                1 for j in ctx.state.upload_jobs.values() if j.folder_uuid == folder.uuid
            ),
            totalSize=total_size,
        )
        return summary


def move_folders(ctx: Ctx) -> dict[str, Any]:
    body = ctx.json_object({"folderUuids", "newParentUuid"})
    with ctx.state.lock:
        parent = body.get("newParentUuid")
        if parent is not None:
            folder_or_403(ctx, parent)
        folders = [folder_or_403(ctx, u) for u in body.get("folderUuids") or []]
        for folder in folders:
            if parent in ctx.state.subtree(folder.uuid):
                raise ApiError(400, f"cannot move folder {folder.uuid} into its own subtree")
            folder.parent = parent
        ctx.state.save_many(folders)
    return {}


# --- integrations and identity -------------------------------------------------------------


def list_integrations(ctx: Ctx) -> dict[str, Any]:
    wanted_uuids = set(ctx.q_list("filterIntegrationUuids"))
    wanted_titles = set(ctx.q_list("filterIntegrationTitles"))
    with ctx.state.lock:
        return {
            "result": [
                {"integrationUuid": i.uuid, "title": i.title}
                for i in ctx.state.integrations.values()
                if (not wanted_uuids or i.uuid in wanted_uuids)
                and (not wanted_titles or i.title in wanted_titles)
            ]
        }


def bearer_token(ctx: Ctx) -> dict[str, Any]:
    return {"token": ctx.core.add_token(user=ctx.user)}


def organisation_tags(ctx: Ctx) -> dict[str, Any]:
    return {"results": []}


ROUTES = [
    ("GET", "/v2/public/storage/folders", list_top_folders),
    ("POST", "/v2/public/storage/folders", create_folder),
    ("PATCH", "/v2/public/storage/folders/patch-bulk", patch_folders_bulk),
    ("POST", "/v2/public/storage/folders/move", move_folders),
    ("GET", "/v2/public/storage/search/folders", search_folders),
    ("GET", "/v2/public/storage/folders/{folder_uuid}", get_folder),
    ("PATCH", "/v2/public/storage/folders/{folder_uuid}", update_folder),
    ("DELETE", "/v2/public/storage/folders/{folder_uuid}", delete_folder),
    ("GET", "/v2/public/storage/folders/{folder_uuid}/folders", list_subfolders),
    ("GET", "/v2/public/storage/folders/{folder_uuid}/summary", folder_summary),
    ("GET", "/v2/public/cloud-integrations", list_integrations),
    ("GET", "/v2/public/user/bearer-token", bearer_token),
    ("GET", "/v2/public/organisation/organisation-tags", organisation_tags),
]
