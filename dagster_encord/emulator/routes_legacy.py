"""Legacy RPC handlers (`POST /public`, `POST /public/user`): datasets, data rows, projects and
label rows. Keys are (scope, query_type, query_method); each handler gets the `values` dict."""

from __future__ import annotations

import copy
import mimetypes
from collections.abc import Callable
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any
from uuid import UUID, uuid5

from dagster_encord.emulator.context import Ctx
from dagster_encord.emulator.manifest import check_metadata_size
from dagster_encord.emulator.metadata import check_item_metadata
from dagster_encord.emulator.records import (
    DataRow,
    Dataset,
    LabelRow,
    Ontology,
    Project,
    new_uuid,
    now_iso,
)
from dagster_encord.emulator.wire import (
    DATA_TYPES,
    ApiError,
    data_row_json,
    dataset_type,
    legacy_time,
)

LegacyHandler = Callable[[Ctx, dict[str, Any]], Any]
BUNDLE_LIMIT = 1000
LABEL_DATA_TYPES = {
    "image": "image",
    "video": "video",
    "imageGroup": "img_group",
    "imageSequence": "video",
    "dicomSeries": "dicom",
    "dicomFile": "dicom",
    "audio": "audio",
    "nifti": "nifti",
    "plainText": "plain_text",
    "pdf": "pdf",
}
FRAME_LABELLED = {"video", "dicom", "nifti", "pdf"}


def _resource(ctx: Ctx, expected: str) -> str:
    if ctx.headers.get("resourcetype") != expected:
        raise ApiError(400, f"this query needs ResourceType: {expected}")
    return ctx.headers.get("resourceid", "")


def _dataset(ctx: Ctx) -> Dataset:
    dataset_hash = _resource(ctx, "dataset")
    dataset = ctx.state.datasets.get(dataset_hash)
    if dataset is None:
        raise ApiError(403, f"dataset {dataset_hash} does not exist or you have no access to it")
    return dataset


def _project(ctx: Ctx) -> Project:
    project_hash = _resource(ctx, "project")
    project = ctx.state.projects.get(project_hash)
    if project is None:
        raise ApiError(403, f"project {project_hash} does not exist or you have no access to it")
    return project


def _payload(values: dict[str, Any]) -> dict[str, Any]:
    payload = values.get("payload") or {}
    if not isinstance(payload, dict):
        raise ApiError(400, "values.payload must be an object")
    return payload


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        raise ApiError(400, f"{value!r} is not an ISO 8601 datetime") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _like(pattern: str) -> Callable[[str], bool]:
    glob = pattern.replace("*", "[*]").replace("?", "[?]").replace("%", "*").replace("_", "?")
    return lambda text: fnmatchcase(text.lower(), glob.lower())


# --- datasets ------------------------------------------------------------------------------


def get_dataset(ctx: Ctx, values: dict[str, Any]) -> dict[str, Any]:
    settings = _payload(values).get("dataset_access_settings") or {}
    with ctx.state.lock:
        dataset = _dataset(ctx)
        rows = []
        if settings.get("fetch_rows", True):
            metadata = bool(settings.get("fetch_client_metadata"))
            rows = [
                data_row_json(ctx.state, ctx.state.data_rows[h], metadata)
                for h in dataset.data_hashes
            ]
        return {
            "dataset_hash": dataset.uuid,
            "title": dataset.title,
            "description": dataset.description,
            "dataset_type": dataset_type(ctx.state, dataset),
            "backing_folder_uuid": dataset.backing_folder_uuid,
            "data_rows": rows,
        }


def list_data_rows(ctx: Ctx, values: dict[str, Any]) -> list[dict[str, Any]]:
    payload = _payload(values)
    settings = payload.get("dataset_access_settings") or {}
    created_before = _parse_time(payload.get("created_before"))
    created_after = _parse_time(payload.get("created_after"))
    title_like = _like(payload["title_like"]) if payload.get("title_like") else None
    data_types = set(payload.get("data_types") or [])
    data_hashes = set(payload.get("data_hashes") or [])
    with ctx.state.lock:
        dataset = _dataset(ctx)
        result = []
        for data_hash in dataset.data_hashes:
            row = ctx.state.data_rows[data_hash]
            body = data_row_json(ctx.state, row, bool(settings.get("fetch_client_metadata")))
            created = _parse_time(row.created_at)
            assert created is not None
            if (
                (payload.get("title_eq") is not None and body["data_title"] != payload["title_eq"])
                or (title_like is not None and not title_like(body["data_title"]))
                or (created_before is not None and created >= created_before)
                or (created_after is not None and created <= created_after)
                or (data_types and body["data_type"] not in data_types)
                or (data_hashes and data_hash not in data_hashes)
            ):
                continue
            result.append(body)
        return result


def link_items(ctx: Ctx, values: dict[str, Any]) -> list[dict[str, Any]]:
    payload = _payload(values)
    item_uuids = payload.get("item_uuids")
    behaviour = payload.get("duplicates_behavior", "SKIP")
    if not isinstance(item_uuids, list):
        raise ApiError(400, "payload.item_uuids must be a list of storage item uuids")
    if behaviour not in ("SKIP", "FAIL", "DUPLICATE"):
        raise ApiError(400, f"duplicates_behavior {behaviour!r} must be SKIP, FAIL or DUPLICATE")
    with ctx.state.lock:
        dataset = _dataset(ctx)
        linked = {ctx.state.data_rows[h].item_uuid for h in dataset.data_hashes}
        new_rows: list[DataRow] = []
        items = []
        for item_uuid in map(str, item_uuids):
            item = ctx.state.items.get(item_uuid)
            if item is None:
                raise ApiError(
                    403, f"storage item {item_uuid} does not exist or you have no access to it"
                )
            if item_uuid in linked and behaviour == "FAIL":
                raise ApiError(
                    409, f"storage item {item_uuid} is already in dataset {dataset.uuid}"
                )
            if item_uuid in linked and behaviour == "SKIP":
                continue
            stamp = now_iso()
            new_rows.append(DataRow(new_uuid(), dataset.uuid, item_uuid, stamp, stamp))
            item.backed_data_units += 1
            items.append(item)
            linked.add(item_uuid)
        dataset.data_hashes.extend(r.data_hash for r in new_rows)
        dataset.last_edited_at = now_iso()
        ctx.state.save_many(new_rows)
        ctx.state.save_many(items)
        ctx.state.save(dataset)
        return [data_row_json(ctx.state, r) for r in new_rows]


def _row_in_dataset(ctx: Ctx, values: dict[str, Any]) -> DataRow:
    dataset = _dataset(ctx)
    row = ctx.state.data_rows.get(str(values.get("uid")))
    if row is None or row.dataset_hash != dataset.uuid:
        raise ApiError(404, f"data row {values.get('uid')} not found in dataset {dataset.uuid}")
    return row


def get_data_row(ctx: Ctx, values: dict[str, Any]) -> dict[str, Any]:
    extra = _payload(values).get("additional_data") or {}
    with ctx.state.lock:
        row = _row_in_dataset(ctx, values)
        return data_row_json(
            ctx.state, row, bool(extra.get("client_metadata")), bool(extra.get("signed_url"))
        )


def save_data_row(ctx: Ctx, values: dict[str, Any]) -> dict[str, Any]:
    payload = _payload(values)
    unknown = set(payload) - {"client_metadata", "data_title"}
    if unknown:
        raise ApiError(400, f"data row fields {sorted(unknown)} cannot be updated")
    with ctx.state.lock:
        row = _row_in_dataset(ctx, values)
        item = ctx.state.items[row.item_uuid]
        if "client_metadata" in payload:
            metadata = payload["client_metadata"]
            if not isinstance(metadata, dict):
                raise ApiError(400, "client_metadata must be an object")
            check_metadata_size(metadata, f"data row {row.data_hash}")
            problem = check_item_metadata(ctx.state, metadata)
            if problem is not None:
                raise ApiError(
                    400, f"data row {row.data_hash} ({item.url}) clientMetadata: {problem}"
                )
            item.client_metadata = metadata
        if "data_title" in payload:
            item.name = str(payload["data_title"])
        row.last_edited_at = item.last_edited_at = now_iso()
        ctx.state.save(item)
        ctx.state.save(row)
        return {"data_row": data_row_json(ctx.state, row, True), "updated_fields": list(payload)}


# --- projects ------------------------------------------------------------------------------


def create_project(ctx: Ctx, values: dict[str, Any]) -> str:
    payload = _payload(values)
    title = payload.get("title")
    if not isinstance(title, str) or not title:
        raise ApiError(400, "project title must be a non-empty string")
    dataset_hashes = list(payload.get("dataset_hashes") or [])
    stamp = now_iso()
    with ctx.state.lock:
        for dataset_hash in dataset_hashes:
            if dataset_hash not in ctx.state.datasets:
                raise ApiError(
                    403, f"dataset {dataset_hash} does not exist or you have no access to it"
                )
        ontology_hash = payload.get("ontology_hash")
        if ontology_hash:
            if ontology_hash not in ctx.state.ontologies:
                raise ApiError(
                    403, f"ontology {ontology_hash} does not exist or you have no access to it"
                )
        else:
            ontology = Ontology(
                new_uuid(), title, "", {"objects": [], "classifications": []}, stamp, stamp
            )
            ctx.state.save(ontology)
            ontology_hash = ontology.uuid
        project = Project(
            new_uuid(),
            title,
            str(payload.get("description") or ""),
            ontology_hash,
            dataset_hashes,
            stamp,
            stamp,
            str(payload.get("workflow_type") or "manual"),
        )
        ctx.state.save(project)
        return project.uuid


def add_project_datasets(ctx: Ctx, values: dict[str, Any]) -> bool:
    hashes = _payload(values).get("dataset_hashes") or []
    with ctx.state.lock:
        project = _project(ctx)
        for dataset_hash in hashes:
            if dataset_hash not in ctx.state.datasets:
                raise ApiError(
                    403, f"dataset {dataset_hash} does not exist or you have no access to it"
                )
            if dataset_hash not in project.dataset_hashes:
                project.dataset_hashes.append(dataset_hash)
        project.last_edited_at = now_iso()
        ctx.state.save(project)
    return True


def remove_project_datasets(ctx: Ctx, values: dict[str, Any]) -> bool:
    uid = values.get("uid") or []
    hashes = set([uid] if isinstance(uid, str) else uid)
    with ctx.state.lock:
        project = _project(ctx)
        project.dataset_hashes = [h for h in project.dataset_hashes if h not in hashes]
        project.last_edited_at = now_iso()
        ctx.state.save(project)
    return True


# --- label rows ----------------------------------------------------------------------------


def _label_rows_by_data(ctx: Ctx, project: Project) -> dict[tuple[str, str], LabelRow]:
    return {
        (r.data_hash, r.branch_name): r
        for r in ctx.state.label_rows.values()
        if r.project_hash == project.uuid
    }


def _row_metadata(
    ctx: Ctx, row: DataRow, label: LabelRow | None, branch: str, metadata: bool
) -> dict[str, Any]:
    dataset = ctx.state.datasets[row.dataset_hash]
    item = ctx.state.items[row.item_uuid]
    media = item.media
    body: dict[str, Any] = {
        "label_hash": label.label_hash if label else None,
        "created_at": legacy_time(label.created_at) if label else None,
        "last_edited_at": legacy_time(label.last_edited_at) if label else None,
        "branch_name": branch,
        "data_hash": row.data_hash,
        "dataset_hash": dataset.uuid,
        "dataset_title": dataset.title,
        "data_title": item.name,
        "data_type": DATA_TYPES.get(item.item_type, "IMAGE"),
        "data_link": item.url or (item.child_urls[0] if item.child_urls else ""),
        "label_status": label.label_status if label else "NOT_LABELLED",
        "annotation_task_status": "ASSIGNED" if label else "QUEUED",
        "workflow_graph_node": None,
        "is_shadow_data": False,
        "number_of_frames": media.get("frameCount") or 1,
        "frames_per_second": media.get("fps"),
        "duration": media.get("duration"),
        "height": media.get("height"),
        "width": media.get("width"),
        "file_type": media.get("mimeType"),
        "backing_item_uuid": item.uuid,
        "spaces": {},
    }
    if metadata:
        body["client_metadata"] = item.client_metadata
    return body


def list_label_rows(ctx: Ctx, values: dict[str, Any]) -> list[dict[str, Any]]:
    payload = _payload(values)
    edited_before = _parse_time(payload.get("edited_before"))
    edited_after = _parse_time(payload.get("edited_after"))
    statuses = set(payload.get("label_statuses") or [])
    data_hashes = set(payload.get("data_hashes") or [])
    label_hashes = set(payload.get("label_hashes") or [])
    title_like = _like(payload["data_title_like"]) if payload.get("data_title_like") else None
    branch = payload.get("branch_name") or "main"
    include_uninitialised = payload.get("include_uninitialised_labels", True)
    with ctx.state.lock:
        project = _project(ctx)
        labels = _label_rows_by_data(ctx, project)
        result = []
        for dataset_hash in project.dataset_hashes:
            dataset = ctx.state.datasets.get(dataset_hash)
            for data_hash in dataset.data_hashes if dataset else []:
                row = ctx.state.data_rows[data_hash]
                label = labels.get((data_hash, branch))
                body = _row_metadata(
                    ctx, row, label, branch, bool(payload.get("include_client_metadata"))
                )
                edited = _parse_time(label.last_edited_at if label else row.last_edited_at)
                assert edited is not None
                if (
                    (label is None and not include_uninitialised)
                    or (edited_before is not None and edited >= edited_before)
                    or (edited_after is not None and edited <= edited_after)
                    or (statuses and body["annotation_task_status"] not in statuses)
                    or (data_hashes and data_hash not in data_hashes)
                    or (label_hashes and body["label_hash"] not in label_hashes)
                    or (
                        payload.get("data_title_eq") is not None
                        and body["data_title"] != payload["data_title_eq"]
                    )
                    or (title_like is not None and not title_like(body["data_title"]))
                ):
                    continue
                result.append(body)
        return result


def _uids(values: dict[str, Any]) -> list[str]:
    uid = values.get("uid")
    uids = [uid] if isinstance(uid, str) else list(uid or [])
    if len(uids) > BUNDLE_LIMIT:
        raise ApiError(400, f"{len(uids)} label rows in one request; the limit is {BUNDLE_LIMIT}")
    return [str(u) for u in uids]


def _label_row_json(ctx: Ctx, label: LabelRow) -> dict[str, Any]:
    row = ctx.state.data_rows[label.data_hash]
    dataset = ctx.state.datasets[row.dataset_hash]
    item = ctx.state.items[row.item_uuid]
    data_type = LABEL_DATA_TYPES.get(item.item_type, "image")
    saved = label.labels
    default_labels: dict[str, Any] = (
        {}
        if data_type in FRAME_LABELLED or data_type in ("audio", "plain_text")
        else {"objects": [], "classifications": []}
    )
    # An image group has one data unit per image; everything else has one for the item.
    frames = (
        item.child_urls
        if data_type == "img_group"
        else [item.url or next(iter(item.child_urls), "")]
    )
    units = {}
    for sequence, link in enumerate(frames):
        unit_hash = (
            row.data_hash if len(frames) == 1 else str(uuid5(UUID(row.data_hash), str(sequence)))
        )
        units[unit_hash] = {
            "data_hash": unit_hash,
            "data_title": item.name if len(frames) == 1 else link.rsplit("/", 1)[-1],
            "data_type": mimetypes.guess_type(link)[0]
            or item.media.get("mimeType")
            or "image/jpeg",
            "data_sequence": sequence,
            "data_link": link,
            "width": item.media.get("width") or 0,
            "height": item.media.get("height") or 0,
            "labels": saved.get("data_unit_labels", {}).get(unit_hash, default_labels),
        }
    return {
        "label_hash": label.label_hash,
        "branch_name": label.branch_name,
        "created_at": legacy_time(label.created_at),
        "last_edited_at": legacy_time(label.last_edited_at),
        "dataset_hash": dataset.uuid,
        "dataset_title": dataset.title,
        "data_title": item.name,
        "data_hash": row.data_hash,
        "data_type": data_type,
        "label_status": label.label_status,
        "data_units": units,
        "object_answers": saved.get("object_answers", {}),
        "classification_answers": saved.get("classification_answers", {}),
        "object_actions": saved.get("object_actions", {}),
        "spaces": saved.get("spaces", {}),
    }


def create_label_rows(ctx: Ctx, values: dict[str, Any]) -> list[dict[str, Any]]:
    branch = _payload(values).get("branch_name") or "main"
    with ctx.state.lock:
        project = _project(ctx)
        in_project = {
            h
            for d in project.dataset_hashes
            if d in ctx.state.datasets
            for h in ctx.state.datasets[d].data_hashes
        }
        labels = _label_rows_by_data(ctx, project)
        created = []
        for data_hash in _uids(values):
            if data_hash not in in_project:
                raise ApiError(404, f"data unit {data_hash} is not in project {project.uuid}")
            label = labels.get((data_hash, branch))
            if label is None:
                stamp = now_iso()
                label = LabelRow(new_uuid(), project.uuid, data_hash, branch, stamp, stamp)
                labels[(data_hash, branch)] = label
            created.append(label)
        ctx.state.save_many(created)
        return [_label_row_json(ctx, label) for label in created]


def get_label_rows(ctx: Ctx, values: dict[str, Any]) -> list[dict[str, Any]] | dict[str, Any]:
    single = isinstance(values.get("uid"), str) and not _payload(values).get("multi_request")
    with ctx.state.lock:
        project = _project(ctx)
        result = []
        for label_hash in _uids(values):
            label = ctx.state.label_rows.get(label_hash)
            if label is None or label.project_hash != project.uuid:
                raise ApiError(404, f"label row {label_hash} not found in project {project.uuid}")
            result.append(_filter_features(_label_row_json(ctx, label), _payload(values)))
        return result[0] if single else result


def _filter_features(row: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """Keep only the objects / classifications whose feature hashes the request names."""
    objects = payload.get("include_object_feature_hashes")
    classifications = payload.get("include_classification_feature_hashes")
    if objects is not None:
        kept: set[str] = set()
        row["data_units"] = copy.deepcopy(row["data_units"])  # the stored labels stay whole
        for unit in row["data_units"].values():
            labels = unit["labels"]
            frames = [labels] if "objects" in labels else list(labels.values())
            for frame in frames:
                if isinstance(frame, dict) and isinstance(frame.get("objects"), list):
                    frame["objects"] = [
                        o for o in frame["objects"] if o.get("featureHash") in objects
                    ]
                    kept.update(o.get("objectHash") for o in frame["objects"])
        for key in ("object_answers", "object_actions"):
            row[key] = {h: answer for h, answer in row[key].items() if h in kept}
    if classifications is not None:
        row["classification_answers"] = {
            h: answer
            for h, answer in row["classification_answers"].items()
            if answer.get("featureHash") in classifications
        }
    return row


def save_label_rows(ctx: Ctx, values: dict[str, Any]) -> bool:
    payload = _payload(values)
    uids = _uids(values)
    # Bundled saves send {"labels": [...]}; the deprecated single save sends the label dict itself.
    saved = payload.get("labels", [payload] if "data_units" in payload else None)
    if isinstance(saved, dict):
        saved = [saved]
    if not isinstance(saved, list) or len(saved) != len(uids):
        raise ApiError(400, "payload.labels must be a list with one label dict per uid")
    with ctx.state.lock:
        project = _project(ctx)
        changed = []
        for label_hash, label_dict in zip(uids, saved, strict=True):
            label = ctx.state.label_rows.get(label_hash)
            if (
                label is None
                or label.project_hash != project.uuid
                or not isinstance(label_dict, dict)
            ):
                raise ApiError(404, f"label row {label_hash} not found in project {project.uuid}")
            label.labels = {
                "object_answers": label_dict.get("object_answers", {}),
                "classification_answers": label_dict.get("classification_answers", {}),
                "object_actions": label_dict.get("object_actions", {}),
                "spaces": label_dict.get("spaces", {}),
                "data_unit_labels": {
                    h: u.get("labels", {}) for h, u in (label_dict.get("data_units") or {}).items()
                },
            }
            label.label_status = str(label_dict.get("label_status") or "LABEL_IN_PROGRESS")
            label.last_edited_at = now_iso()
            changed.append(label)
        ctx.state.save_many(changed)
    return True


HANDLERS: dict[tuple[str, str, str], LegacyHandler] = {
    ("resource", "dataset", "GET"): get_dataset,
    ("resource", "datarows", "GET"): list_data_rows,
    ("resource", "datasetlinkitems", "POST"): link_items,
    ("resource", "datarow", "GET"): get_data_row,
    ("resource", "datarow", "POST"): save_data_row,
    ("user", "project", "POST"): create_project,
    ("resource", "projectdataset", "POST"): add_project_datasets,
    ("resource", "projectdataset", "DELETE"): remove_project_datasets,
    ("resource", "labelrowmetadata", "GET"): list_label_rows,
    ("resource", "labelrow", "PUT"): create_label_rows,
    ("resource", "labelrow", "GET"): get_label_rows,
    ("resource", "labelrow", "POST"): save_label_rows,
}
