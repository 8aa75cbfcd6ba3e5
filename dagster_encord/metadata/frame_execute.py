"""Per-frame metadata of group items (no Dagster): executing a frame plan across many groups, and
patching or reading the frames of one group (seed 003, "Add custom metadata to images in an image
group", batched).

Requests of `execute_frame_upserts`: the groups are read in bulk (one request per 5,000), each
group's frames are listed (one request per group: the SDK has no bulk listing of child items),
then the frames of all groups are read, patched and read back like any items: one request per
5,000 reads and one bulk patch per 1,000 changed frames. Nothing is read back when no frame
needed a patch. A group that cannot be read fails its own frames only; errors are keyed by frame
URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dagster_encord.encord_client.storage import PATCH_BATCH_LIMIT, check_patch_batch_size
from dagster_encord.errors import EncordAuthError, EncordError
from dagster_encord.metadata.frames import FramePlan, FrameReport
from dagster_encord.metadata.item_metadata import (
    PatchOutcome,
    merged_changes,
    patch_metadata,
    read_metadata,
)
from dagster_encord.metadata.upsert import verify_readback

if TYPE_CHECKING:
    from dagster_encord.encord_client.client import EncordClient


def execute_frame_upserts(client: EncordClient, plan: FramePlan) -> FrameReport:
    """Patch (merge) every planned frame, read back, and report per frame URL."""
    report = FrameReport(plan=plan, errors=dict(plan.rejected))
    if not plan.patches:
        return report
    try:
        groups = client.get_items(list(plan.patches))
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
            children = client.child_items(group)
        except EncordAuthError:
            raise  # every other group would fail the same way
        except EncordError as failure:
            for url in frames:
                report.errors[url] = str(failure)
            continue
        found: set[str] = set()
        for child in children:
            url = child.url or ""
            if url in frames:
                updates[child.item_uuid] = dict(frames[url])
                url_of[child.item_uuid] = url
                found.add(url)
        for url in frames:
            if url not in found:
                report.errors[url] = _not_a_frame(url, group_item_uuid, len(children))
    if not updates:
        return report
    try:
        outcome = patch_metadata(client, updates)
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
        stored, read_errors = read_metadata(client, list(outcome.patched))
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


def _not_a_frame(url: str, group_item_uuid: str, frame_count: int) -> str:
    return (
        f"{url} is not a frame of image group {group_item_uuid} "
        f"({frame_count} frames); check the URL against the group's objectUrl_N"
    )


def read_group_frames(client: EncordClient, group_item_uuid: str) -> dict[str, dict[str, Any]]:
    """Frame URL -> the frame's stored clientMetadata, for every frame of the group (two
    requests)."""
    return {
        frame.url or frame.name: dict(frame.client_metadata)
        for frame in client.group_frames(group_item_uuid)
    }


def patch_group_frames(
    client: EncordClient,
    group_item_uuid: str,
    frame_metadata: Mapping[str, Mapping[str, Any]],
    *,
    batch_size: int = PATCH_BATCH_LIMIT,
) -> PatchOutcome:
    """Per-frame metadata for the images of one image group: list the group's frames and
    bulk-patch each, keyed by the frame's URL, merging like `patch_metadata`.

    `patched` and `unchanged` name frames by item uuid; `errors` is keyed by frame URL (the key
    the caller gave), for URLs that are not frames of the group and for refused patches. A URL
    that occurs twice in the group updates both frames. Read the result back with
    `read_group_frames`.
    """
    check_patch_batch_size(batch_size)
    children = client.group_frames(group_item_uuid)
    outcome = PatchOutcome()
    wanted = [
        (child, frame_metadata[child.url or ""])
        for child in children
        if (child.url or "") in frame_metadata
    ]
    pending, outcome.unchanged = merged_changes(wanted)
    found = {child.url for child in children}
    for url in frame_metadata:
        if url not in found:
            outcome.errors[url] = _not_a_frame(url, group_item_uuid, len(children))
    sent = client.patch_items_metadata(pending, batch_size=batch_size)
    outcome.patched.update(sent.patched)
    url_of = {child.item_uuid: child.url or child.item_uuid for child, _ in pending}
    for item_uuid, message in sent.errors.items():
        outcome.errors[url_of.get(item_uuid, item_uuid)] = message
    return outcome
