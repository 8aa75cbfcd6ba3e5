"""Executing a per-frame metadata plan (no Dagster): the frames of every planned group item are
patched (merge) in bulk, read back and verified (seed 003, "Add custom metadata to images in an
image group", batched).

Requests: the groups are read in bulk (one request per 5,000), each group's frames are listed
(one request per group: the SDK has no bulk listing of child items), then the frames of all
groups are read, patched and read back like any items: one request per 5,000 reads and one bulk
patch per 1,000 changed frames. Nothing is read back when no frame needed a patch. A group that
cannot be read fails its own frames only; errors are keyed by frame URL.
"""

from __future__ import annotations

from typing import Any

from dagster_encord.encord_client.client import EncordClient, translate_sdk_error
from dagster_encord.encord_client.metadata_ops import get_items, patch_metadata, read_metadata
from dagster_encord.errors import EncordAuthError, EncordError
from dagster_encord.metadata.frames import FramePlan, FrameReport
from dagster_encord.metadata.upsert import verify_readback


def execute_frame_upserts(client: EncordClient, plan: FramePlan) -> FrameReport:
    """Patch (merge) every planned frame, read back, and report per frame URL."""
    user_client = client.user_client
    report = FrameReport(plan=plan, errors=dict(plan.rejected))
    if not plan.patches:
        return report
    try:
        groups = get_items(user_client, list(plan.patches))
    except EncordAuthError:
        raise
    except EncordError as error:
        return _all_failed(report, plan, str(error))
    updates: dict[str, dict[str, Any]] = {}  # frame item uuid -> metadata
    url_of: dict[str, str] = {}
    for group_item_uuid, frames in plan.patches.items():
        group = groups.items.get(group_item_uuid)
        if group is None:
            message = groups.errors.get(group_item_uuid, "group item not found")
            for url in frames:
                report.errors[url] = f"image group {group_item_uuid}: {message}"
            continue
        try:
            children = list(group.get_child_items())
        except Exception as error:
            failure = translate_sdk_error(
                error, f"listing the frames of image group {group_item_uuid}"
            )
            if isinstance(failure, EncordAuthError):
                raise failure from None  # every other group would fail the same way
            for url in frames:
                report.errors[url] = str(failure)
            continue
        found: set[str] = set()
        for child in children:
            url = child.url or ""
            if url in frames:
                updates[str(child.uuid)] = dict(frames[url])
                url_of[str(child.uuid)] = url
                found.add(url)
        for url in frames:
            if url not in found:
                report.errors[url] = (
                    f"{url} is not a frame of image group {group_item_uuid} "
                    f"({len(children)} frames); check the URL against the group's objectUrl_N"
                )
    if not updates:
        return report
    try:
        outcome = patch_metadata(user_client, updates)
    except EncordAuthError:
        raise
    except EncordError as error:
        for url in url_of.values():
            report.errors[url] = str(error)
        return report
    report.patched = len(outcome.patched)
    report.unchanged = len(outcome.unchanged)
    for frame_uuid, message in outcome.errors.items():
        report.errors[url_of.get(frame_uuid, frame_uuid)] = message
    # Unchanged frames were just read with the wanted keys: that read is their read-back.
    report.verified.update(url_of[frame_uuid] for frame_uuid in outcome.unchanged)
    if not outcome.patched:
        return report
    try:
        stored, read_errors = read_metadata(user_client, list(outcome.patched))
    except EncordAuthError:
        raise
    except EncordError as error:
        for frame_uuid in outcome.patched:
            report.errors[url_of[frame_uuid]] = f"read-back: {error}"
        return report
    for frame_uuid, message in read_errors.items():
        report.errors[url_of.get(frame_uuid, frame_uuid)] = f"read-back: {message}"
    expected = {uuid: updates[uuid] for uuid in outcome.patched if uuid in stored}
    problems = verify_readback(expected, stored, mode="patch")
    for frame_uuid, message in problems.items():
        report.errors[url_of[frame_uuid]] = f"read-back: {message}"
    report.verified.update(url_of[uuid] for uuid in expected if uuid not in problems)
    return report


def _all_failed(report: FrameReport, plan: FramePlan, message: str) -> FrameReport:
    for frames in plan.patches.values():
        for url in frames:
            report.errors.setdefault(url, message)
    return report
