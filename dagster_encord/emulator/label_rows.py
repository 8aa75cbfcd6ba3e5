"""Label rows as the SDK reads them (no HTTP here): the LabelRowMetadata of a listing and the
label row dict `initialise_labels` parses, plus the pieces of a saved `to_encord_dict()` kept.

`annotation_task_status`, which the listing's `label_statuses` filter matches: a workflow
project's row takes it from its task's stage (`workflow.legacy_task_status`: Annotate is QUEUED,
or ASSIGNED with an assignee, or RETURNED when reopened; Review is IN_REVIEW; Complete is
COMPLETED). A manual-QA project has no tasks, so it follows the row's saved `label_status`:
NOT_LABELLED (or no label row) -> QUEUED, LABEL_IN_PROGRESS -> ASSIGNED, LABELLED and
REVIEW_IN_PROGRESS -> IN_REVIEW, REVIEWED and REVIEWED_TWICE -> COMPLETED.
"""

from __future__ import annotations

import copy
import mimetypes
from collections.abc import Mapping
from typing import Any
from uuid import UUID, uuid5

from dagster_encord.emulator.groups import child_items
from dagster_encord.emulator.records import (
    AnnotationTaskStatus,
    DataRow,
    Dataset,
    Item,
    LabelRow,
    LabelStatus,
    Task,
)
from dagster_encord.emulator.state import EmulatorState
from dagster_encord.emulator.wire import DATA_TYPES, ApiError, Signer, legacy_time
from dagster_encord.emulator.workflow import graph_node, legacy_task_status

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
MANUAL_TASK_STATUS = {
    LabelStatus.NOT_LABELLED: AnnotationTaskStatus.QUEUED,
    LabelStatus.LABEL_IN_PROGRESS: AnnotationTaskStatus.ASSIGNED,
    LabelStatus.LABELLED: AnnotationTaskStatus.IN_REVIEW,
    LabelStatus.REVIEW_IN_PROGRESS: AnnotationTaskStatus.IN_REVIEW,
    LabelStatus.REVIEWED: AnnotationTaskStatus.COMPLETED,
    LabelStatus.REVIEWED_TWICE: AnnotationTaskStatus.COMPLETED,
}


def task_status(
    label: LabelRow | None, task: Task | None, stage: Mapping[str, str] | None
) -> AnnotationTaskStatus:
    if task is not None:
        return legacy_task_status(stage, task)
    return MANUAL_TASK_STATUS[label.label_status] if label else AnnotationTaskStatus.QUEUED


def _audio(item: Item) -> dict[str, Any]:
    media = item.media
    return {
        "audio_codec": media.get("audioCodec"),
        "audio_sample_rate": media.get("audioSampleRate"),
        "audio_bit_depth": media.get("audioBitDepth"),
        "audio_num_channels": media.get("audioNumChannels"),
    }


def row_metadata(
    row: DataRow,
    item: Item,
    dataset: Dataset,
    label: LabelRow | None,
    branch: str,
    task: Task | None,
    stage: Mapping[str, str] | None,
    with_node: bool = True,
) -> dict[str, Any]:
    """One LabelRowMetadata: the data unit on `branch`, with its label row if it has one there."""
    media = item.media
    body = {
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
        "label_status": label.label_status if label else LabelStatus.NOT_LABELLED,
        "annotation_task_status": task_status(label, task, stage),
        # a non-null node makes the SDK treat the row as a workflow row
        "workflow_graph_node": graph_node(stage) if with_node else None,
        "task_uuid": task.uuid if task else None,
        "assigned_user_email": task.assignee if task else None,
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
    if item.item_type == "audio":  # optional keys the SDK reads only for audio
        body.update(_audio(item))
    return body


def label_row_json(
    state: EmulatorState, label: LabelRow, signer: Signer | None = None
) -> dict[str, Any]:
    """The label row dict of a `labelrow` GET or PUT, with the saved labels."""
    row = state.data_rows[label.data_hash]
    dataset = state.datasets[row.dataset_hash]
    item = state.items[row.item_uuid]
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
    frame_media = (
        {c.url: c.media for c in child_items(state, item) if c.url is not None}
        if data_type == "img_group"
        else {}
    )
    units = {}
    for sequence, link in enumerate(frames):
        media = frame_media.get(link, item.media)
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


def filter_features(row: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
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


def saved_status(label_hash: str, label_dict: dict[str, Any]) -> LabelStatus:
    """The label status a saved `to_encord_dict()` carries (LABEL_IN_PROGRESS if none)."""
    status = label_dict.get("label_status") or LabelStatus.LABEL_IN_PROGRESS
    try:
        return LabelStatus(status)
    except ValueError:
        known = ", ".join(LabelStatus)
        raise ApiError(
            400, f"label row {label_hash}: label_status {status!r} is not one of {known}"
        ) from None


def store_labels(label: LabelRow, label_dict: dict[str, Any], stamp: str) -> None:
    """Keep what a saved `to_encord_dict()` carries: the labels and the label status."""
    label.label_status = saved_status(label.label_hash, label_dict)
    label.labels = {
        "object_answers": label_dict.get("object_answers", {}),
        "classification_answers": label_dict.get("classification_answers", {}),
        "object_actions": label_dict.get("object_actions", {}),
        "spaces": label_dict.get("spaces", {}),
        "data_unit_labels": {
            h: u.get("labels", {}) for h, u in (label_dict.get("data_units") or {}).items()
        },
    }
    label.last_edited_at = stamp
