"""Legacy RPC handlers for label rows: list (with the SDK's filters), create, get, save.

Bundled calls carry up to 1,000 uids. Saved labels are stored as sent (`to_encord_dict()` pieces)
and returned on the next GET, filtered by feature hash when the request asks for it.
"""

from __future__ import annotations

import copy
import mimetypes
from typing import Any
from uuid import UUID, uuid5

from dagster_encord.emulator.context import Ctx
from dagster_encord.emulator.groups import child_items
from dagster_encord.emulator.legacy import (
    LegacyHandler,
    like,
    parse_time,
    payload_of,
    project_or_403,
)
from dagster_encord.emulator.records import (
    DataRow,
    Item,
    LabelRow,
    Project,
    Task,
    new_uuid,
    now_iso,
)
from dagster_encord.emulator.wire import DATA_TYPES, ApiError, Signer, legacy_time
from dagster_encord.emulator.workflow import (
    enter_stage,
    event,
    graph_node,
    legacy_task_status,
    main_label_rows,
    task_of,
)

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


def _label_rows_by_data(ctx: Ctx, project: Project) -> dict[tuple[str, str], LabelRow]:
    return {
        (r.data_hash, r.branch_name): r
        for r in ctx.state.label_rows.values()
        if r.project_hash == project.uuid
    }


def _audio(item: Item) -> dict[str, Any]:
    media = item.media
    return {
        "audio_codec": media.get("audioCodec"),
        "audio_sample_rate": media.get("audioSampleRate"),
        "audio_bit_depth": media.get("audioBitDepth"),
        "audio_num_channels": media.get("audioNumChannels"),
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
        **_audio(item),
    }
    if metadata:
        body["client_metadata"] = item.client_metadata
    return body


def _add_task(project: Project, body: dict[str, Any], task: Task, with_node: bool) -> None:
    """A workflow project's row carries its task: stage (graph node), status and assignee."""
    body["workflow_graph_node"] = graph_node(project, task) if with_node else None
    body["annotation_task_status"] = legacy_task_status(project, task)
    body["task_uuid"] = task.uuid
    body["assigned_user_email"] = task.assignee


def list_label_rows(ctx: Ctx, values: dict[str, Any]) -> list[dict[str, Any]]:
    payload = payload_of(values)
    edited_before = parse_time(payload.get("edited_before"))
    edited_after = parse_time(payload.get("edited_after"))
    statuses = set(payload.get("label_statuses") or [])
    data_hashes = set(payload.get("data_hashes") or [])
    label_hashes = set(payload.get("label_hashes") or [])
    title_like = like(payload["data_title_like"]) if payload.get("data_title_like") else None
    node_eq = payload.get("workflow_graph_node_title_eq")
    node_like = payload.get("workflow_graph_node_title_like")
    node_like_match = like(node_like) if node_like else None
    with_node = payload.get("include_workflow_graph_node", True) is not False
    branch = payload.get("branch_name") or "main"
    include_uninitialised = payload.get("include_uninitialised_labels", True)
    with ctx.state.lock:
        project = project_or_403(ctx)
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
                task = task_of(ctx.state, project, data_hash)
                if task is not None:
                    _add_task(project, body, task, with_node)
                node_title = (graph_node(project, task) or {}).get("title")
                edited = parse_time(label.last_edited_at if label else row.last_edited_at)
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
                    or (node_eq is not None and node_title != node_eq)
                    or (node_like_match is not None and not node_like_match(node_title or ""))
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


def _label_row_json(ctx: Ctx, label: LabelRow, signer: Signer | None = None) -> dict[str, Any]:
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
    # An image group's frames are items with their own sizes; other rows use the item's.
    frame_media = {c.url: c.media for c in child_items(ctx.state, item) if c.url is not None}
    units = {}
    for sequence, link in enumerate(frames):
        media = frame_media.get(link, item.media) if data_type == "img_group" else item.media
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
            "data_link": signer(link) if signer is not None and link else link,
            "width": media.get("width") or 0,
            "height": media.get("height") or 0,
            "labels": saved.get("data_unit_labels", {}).get(unit_hash, default_labels),
        }
        if data_type == "audio":  # the SDK reads these from audio data units
            units[unit_hash].update({"data_duration": item.media.get("duration"), **_audio(item)})
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


def _signer(ctx: Ctx, values: dict[str, Any]) -> Signer | None:
    """Signs data links when the request asks for `get_signed_url`."""
    return ctx.url_signer() if payload_of(values).get("get_signed_url") else None


def create_label_rows(ctx: Ctx, values: dict[str, Any]) -> list[dict[str, Any]]:
    branch = payload_of(values).get("branch_name") or "main"
    signer = _signer(ctx, values)
    with ctx.state.lock:
        project = project_or_403(ctx)
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
        return [_label_row_json(ctx, label, signer) for label in created]


def get_label_rows(ctx: Ctx, values: dict[str, Any]) -> list[dict[str, Any]] | dict[str, Any]:
    single = isinstance(values.get("uid"), str) and not payload_of(values).get("multi_request")
    signer = _signer(ctx, values)
    with ctx.state.lock:
        project = project_or_403(ctx)
        result = []
        for label_hash in _uids(values):
            label = ctx.state.label_rows.get(label_hash)
            if label is None or label.project_hash != project.uuid:
                raise ApiError(404, f"label row {label_hash} not found in project {project.uuid}")
            row = _label_row_json(ctx, label, signer)
            result.append(_filter_features(row, payload_of(values)))
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
    payload = payload_of(values)
    uids = _uids(values)
    # Bundled saves send {"labels": [...]}; the deprecated single save sends the label dict itself.
    saved = payload.get("labels", [payload] if "data_units" in payload else None)
    if isinstance(saved, dict):
        saved = [saved]
    if not isinstance(saved, list) or len(saved) != len(uids):
        raise ApiError(400, "payload.labels must be a list with one label dict per uid")
    with ctx.state.lock:
        project = project_or_403(ctx)
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


def move_label_tasks(ctx: Ctx, values: dict[str, Any]) -> bool:
    """`label_row.workflow_complete()` / `workflow_reopen()`: the row's task goes to the first
    Complete stage, or back to the first stage."""
    action = payload_of(values).get("action")
    if action not in ("complete", "reopen"):
        raise ApiError(400, f"workflow action {action!r} must be 'complete' or 'reopen'")
    with ctx.state.lock:
        project = project_or_403(ctx)
        if not project.stages:
            raise ApiError(
                400, f"project {project.uuid} is not a workflow project", "WRONG_PROJECT_TYPE_ERROR"
            )
        stage = (
            next(s for s in project.stages if s["stageType"] == "DONE")
            if action == "complete"
            else project.stages[0]
        )
        tasks = []
        for label_hash in _uids(values):
            label = ctx.state.label_rows.get(label_hash)
            task = task_of(ctx.state, project, label.data_hash) if label else None
            if label is None or label.project_hash != project.uuid or task is None:
                raise ApiError(404, f"label row {label_hash} not found in project {project.uuid}")
            tasks.append(task)
        labels = main_label_rows(ctx.state, project)
        events = []
        for task in tasks:
            events.append(event(project, task, "move", ctx.user))
            enter_stage(task, stage, "NEW" if action == "complete" else "REOPENED", labels)
        ctx.state.save_many(tasks)
        ctx.state.save_many(events)
    return True


HANDLERS: dict[tuple[str, str, str], LegacyHandler] = {
    ("resource", "labelrowmetadata", "GET"): list_label_rows,
    ("resource", "labelrow", "PUT"): create_label_rows,
    ("resource", "labelrow", "GET"): get_label_rows,
    ("resource", "labelrow", "POST"): save_label_rows,
    ("resource", "labelworkflowgraphnode", "POST"): move_label_tasks,
}
