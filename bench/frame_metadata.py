"""Benchmark: per-frame clientMetadata on G image groups of F frames (default 20 x 100) against
the emulator.

Baseline, in the same run: the script in Encord's docs (seed 003, "Add custom metadata to images
in an image group"): per group, `get_storage_item` + `get_child_items`, then `child.update(...)`
per frame (F + 2 requests per group). Ours: `plan_frames` + `execute_frame_upserts` (groups read
in bulk, one child listing per group, frames read, Bundle-patched by 1,000 and read back in bulk).
Request counts come from the emulator's counters.

    .venv/bin/python bench/frame_metadata.py [--groups 20] [--frames 100]
"""

from __future__ import annotations

import argparse
import time

from encord.user_client import EncordUserClient

from dagster_encord.emulator import EncordEmulator
from dagster_encord.encord_client.client import EncordClient
from dagster_encord.metadata.frame_execute import execute_frame_upserts, read_group_frames
from dagster_encord.metadata.frames import FrameUpdate, plan_frames
from dagster_encord.metadata.schema import DeclaredSchema, scalar
from dagster_encord.metadata.schema_sync import sync_schema
from dagster_encord.metadata.validate import MetadataValidator

BUCKET = "https://cams.s3.eu-west-2.amazonaws.com"
SCHEMA = DeclaredSchema.of(scalar("frame", "number"), scalar("run", "number"))


def frame_urls(group: int, frames: int) -> list[str]:
    return [f"{BUCKET}/seq-{group:04d}/frame_{n:05d}.jpg" for n in range(frames)]


def register(
    client: EncordClient, folder: str, integration: str, groups: int, frames: int
) -> list[str]:
    entries = []
    for group in range(groups):
        entry: dict[str, object] = {"title": f"seq-{group:04d}", "clientMetadata": {"site": "A"}}
        entry.update({f"objectUrl_{n}": url for n, url in enumerate(frame_urls(group, frames))})
        entries.append(entry)
    job_id = client.start_upload_job(folder, integration, {"image_groups": entries})
    while (state := client.poll_upload_job(folder, job_id)).status == "PENDING":
        time.sleep(0.2)
    if state.status != "DONE" or len(state.items) != groups:
        raise SystemExit(f"registration failed: {state.status}, {len(state.items)} groups")
    by_title = {item.name: item.item_uuid for item in state.items}
    return [by_title[f"seq-{group:04d}"] for group in range(groups)]


def total(counters: dict[str, int]) -> int:
    return sum(counters.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--frames", type=int, default=100)
    args = parser.parse_args()
    count = args.groups * args.frames

    with EncordEmulator() as emulator:
        ssh_key = emulator.new_ssh_key()
        client = EncordClient.from_ssh_key(ssh_key, domain=emulator.domain)
        # The SDK as the seed's script uses it: creates the folder, runs the baseline loop.
        user_client = EncordUserClient.create_with_ssh_private_key(ssh_key, domain=emulator.domain)
        integration = emulator.add_integration("bench-s3", "s3")
        sync_schema(client, SCHEMA)
        folder = str(user_client.create_storage_folder("bench-frames").uuid)
        print(f"registering {args.groups} groups of {args.frames} frames ...", flush=True)
        group_uuids = register(client, folder, integration, args.groups, args.frames)

        # Baseline: the seed's script, one update request per frame.
        emulator.reset_counters()
        started = time.perf_counter()
        for group_uuid in group_uuids:
            group_item = user_client.get_storage_item(group_uuid)
            for n, child in enumerate(group_item.get_child_items()):
                child.update(client_metadata={"frame": n, "run": 1})
        baseline_seconds = time.perf_counter() - started
        baseline_counts = emulator.counters()

        # Ours: validate, then bulk reads, Bundle patches and a bulk read-back.
        updates = []
        for group, group_uuid in enumerate(group_uuids):
            urls = frame_urls(group, args.frames)
            frames = {url: {"frame": n, "run": 2} for n, url in enumerate(urls)}
            updates.append(FrameUpdate(group_uuid, urls[0], frames, dict.fromkeys(urls, "")))
        emulator.reset_counters()
        started = time.perf_counter()
        plan = plan_frames(updates, validator=MetadataValidator(SCHEMA))
        report = execute_frame_upserts(client, plan)
        ours_seconds = time.perf_counter() - started
        ours_counts = emulator.counters()

        correct = 0
        for group, group_uuid in enumerate(group_uuids):
            stored = read_group_frames(client, group_uuid)
            urls = frame_urls(group, args.frames)
            correct += sum(1 for n, url in enumerate(urls) if stored[url] == {"frame": n, "run": 2})

    print(f"\ngroups: {args.groups}, frames per group: {args.frames} ({count:,} frames)")
    print(
        f"baseline (seed 003: child.update per frame): {total(baseline_counts)} requests, "
        f"{baseline_seconds:.1f} s"
    )
    for endpoint, number in sorted(baseline_counts.items()):
        print(f"    {number:>6}  {endpoint}")
    print(
        f"ours (bulk read + Bundle patch + read-back): {total(ours_counts)} requests, "
        f"{ours_seconds:.1f} s"
    )
    for endpoint, number in sorted(ours_counts.items()):
        print(f"    {number:>6}  {endpoint}")
    print(
        f"patched {report.patched}, verified {len(report.verified)}, errors {len(report.errors)}; "
        f"independent read-back: {correct}/{count} frames hold the wanted metadata"
    )
    print(
        f"ratio: {total(baseline_counts) / max(1, total(ours_counts)):.0f}x fewer requests, "
        f"{baseline_seconds / max(ours_seconds, 1e-9):.1f}x faster"
    )


if __name__ == "__main__":
    main()
