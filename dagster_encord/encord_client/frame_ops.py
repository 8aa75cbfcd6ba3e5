"""Executing a per-frame metadata plan (no Dagster): for each group item, patch its frames with
`patch_group_frames`, read them back with `read_group_frames` and verify.

Per group: two requests list the frames, one bulk patch per 1,000 changed frames, and two more
read them back (skipped when no frame needed a patch: the listing already showed the stored
metadata). A group that cannot be read fails its own frames only.
"""

from __future__ import annotations

from dagster_encord.encord_client.client import EncordClient
from dagster_encord.encord_client.metadata_ops import patch_group_frames, read_group_frames
from dagster_encord.errors import EncordAuthError, EncordError
from dagster_encord.metadata.frames import FramePlan, FrameReport
from dagster_encord.metadata.upsert import verify_readback


def execute_frame_upserts(client: EncordClient, plan: FramePlan) -> FrameReport:
    """Patch (merge) every planned frame, read back, and report per frame URL."""
    user_client = client.user_client
    report = FrameReport(plan=plan, errors=dict(plan.rejected))
    for group_item_uuid, frames in plan.patches.items():
        try:
            outcome = patch_group_frames(user_client, group_item_uuid, frames)
            report.patched += len(outcome.patched)
            report.unchanged += len(outcome.unchanged)
            report.errors.update(outcome.errors)
            expected = {
                url: dict(meta) for url, meta in frames.items() if url not in outcome.errors
            }
            if not expected:
                continue
            # Nothing patched: the frames were just listed with the wanted keys, so that listing
            # is the read-back.
            stored = read_group_frames(user_client, group_item_uuid) if outcome.patched else None
        except EncordAuthError:
            raise  # every other group would fail the same way
        except EncordError as error:
            for url in frames:
                report.errors.setdefault(url, str(error))
            continue
        problems = verify_readback(expected, stored, mode="patch") if stored is not None else {}
        for url, message in problems.items():
            report.errors[url] = f"read-back of frame in group {group_item_uuid}: {message}"
        report.verified.update(url for url in expected if url not in problems)
    return report
