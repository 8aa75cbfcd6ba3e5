"""Benchmark: upsert clientMetadata on N existing items (default 10,000) against the emulator.

Baseline, in the same run: the per-item loop from Encord's docs (seed 004, "Update custom metadata
to specific data units"): `get_storage_item` + `item.update` per item, about 2 requests per item.
Ours: `plan_upserts` + `execute_upserts` (bulk reads, Bundle patches of 1,000, read-back).
Request counts come from the emulator's counters. Target: ours <= 20 requests for 10,000 items.

Second figure: validating M records' metadata (default 1,000,000) against a schema, with the cost
of serialising the same metadata to JSON (what the manifest writer does anyway) as the baseline.

    .venv/bin/python bench/metadata.py [--items 10000] [--validate-records 1000000]
"""

from __future__ import annotations

import argparse
import json
import time

from encord.user_client import EncordUserClient

from dagster_encord.emulator import EncordEmulator
from dagster_encord.encord_client.client import EncordClient
from dagster_encord.metadata.item_metadata import read_metadata
from dagster_encord.metadata.schema import DeclaredSchema, scalar
from dagster_encord.metadata.upsert import MetadataUpdate, plan_upserts
from dagster_encord.metadata.upsert_execute import execute_upserts
from dagster_encord.metadata.validate import MetadataValidator

BUCKET = "https://cams.s3.eu-west-2.amazonaws.com"


def register(client: EncordClient, folder: str, integration: str, count: int) -> list[str]:
    entries = [
        {"objectUrl": f"{BUCKET}/site/{i:06d}.jpg", "clientMetadata": {"keep": "yes", "run": 0}}
        for i in range(count)
    ]
    job_id = client.start_upload_job(folder, integration, {"images": entries})
    while (state := client.poll_upload_job(folder, job_id)).status == "PENDING":
        time.sleep(0.2)
    if state.status != "DONE" or len(state.items) != count:
        raise SystemExit(f"registration failed: {state.status}, {len(state.items)} items")
    return [item.item_uuid for item in state.items]


def bench_validation(count: int) -> None:
    schema = DeclaredSchema.of(
        scalar("captured_at", "datetime"),
        scalar("camera_id", "uuid"),
        scalar("score", "number"),
        scalar("reviewed", "boolean"),
        scalar("site", "varchar"),
    )
    validator = MetadataValidator(schema)
    records = [
        (
            f"{BUCKET}/site/{i:07d}.jpg",
            {
                "captured_at": f"2024-03-{1 + i % 28:02d}T10:00:00Z",
                "camera_id": "6f1c2b1e-8a4b-4c1d-9e2f-0a1b2c3d4e5f",
                "score": i / 7,
                "reviewed": i % 2 == 0,
                "site": f"site-{i % 50}",
            },
        )
        for i in range(count)
    ]
    started = time.perf_counter()
    for _url, metadata in records:
        json.dumps(metadata, separators=(",", ":"))
    baseline = time.perf_counter() - started
    started = time.perf_counter()
    failures = sum(1 for url, metadata in records if validator.errors(metadata, file=url))
    ours = time.perf_counter() - started
    print(
        f"\nvalidation of {count:,} records (5 keys each): {ours:.2f} s "
        f"({ours / count * 1e6:.2f} us/record, {failures} failures); baseline json.dumps of the "
        f"same metadata: {baseline:.2f} s; ratio validation/serialisation: {ours / baseline:.2f}"
    )


def total(counters: dict[str, int]) -> int:
    return sum(counters.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--validate-records", type=int, default=1_000_000)
    args = parser.parse_args()

    with EncordEmulator() as emulator:
        ssh_key = emulator.new_ssh_key()
        client = EncordClient.from_ssh_key(ssh_key, domain=emulator.domain)
        # The SDK as the seed's script uses it: creates the folder, runs the baseline loop.
        user_client = EncordUserClient.create_with_ssh_private_key(ssh_key, domain=emulator.domain)
        integration = emulator.add_integration("bench-s3", "s3")
        folder = str(user_client.create_storage_folder("bench").uuid)
        print(f"registering {args.items} items ...", flush=True)
        item_uuids = register(client, folder, integration, args.items)

        # Baseline: the seed's per-item loop (read-modify-write, one item at a time).
        emulator.reset_counters()
        started = time.perf_counter()
        for item_uuid in item_uuids:
            item = user_client.get_storage_item(item_uuid=item_uuid)
            metadata = item.client_metadata.copy()
            metadata.update({"run": 1})
            item.update(client_metadata=metadata)
        baseline_seconds = time.perf_counter() - started
        baseline_counts = emulator.counters()

        # Ours: validate, plan, bulk read, Bundle patches, read back and verify.
        schema = DeclaredSchema.of(scalar("keep", "varchar"), scalar("run", "number"))
        updates = [
            MetadataUpdate(f"{BUCKET}/site/{i:06d}.jpg", {"run": 2}, item_uuid=item_uuid)
            for i, item_uuid in enumerate(item_uuids)
        ]
        emulator.reset_counters()
        started = time.perf_counter()
        plan = plan_upserts(updates, mode="patch", validator=MetadataValidator(schema))
        report = execute_upserts(client, plan)
        ours_seconds = time.perf_counter() - started
        ours_counts = emulator.counters()

        stored, errors = read_metadata(client, item_uuids)
        correct = sum(1 for m in stored.values() if m == {"keep": "yes", "run": 2})

    print(f"\nitems: {args.items}")
    print(
        f"baseline (get_storage_item + update per item): {total(baseline_counts)} requests, "
        f"{baseline_seconds:.1f} s"
    )
    for endpoint, count in sorted(baseline_counts.items()):
        print(f"    {count:>6}  {endpoint}")
    print(
        f"ours (bulk get + Bundle patch + read-back): {total(ours_counts)} requests, "
        f"{ours_seconds:.1f} s"
    )
    for endpoint, count in sorted(ours_counts.items()):
        print(f"    {count:>6}  {endpoint}")
    print(
        f"patched {report.patched}, verified {report.verified}, errors {len(report.errors)}; "
        f"independent read-back: {correct}/{args.items} items hold the merged metadata, "
        f"{len(errors)} unreadable"
    )
    print(
        f"ratio: {total(baseline_counts) / max(1, total(ours_counts)):.0f}x fewer requests, "
        f"{baseline_seconds / max(ours_seconds, 1e-9):.1f}x faster; target <= 20 requests: "
        f"{'met' if total(ours_counts) <= 20 else 'MISSED'}"
    )

    bench_validation(args.validate_records)


if __name__ == "__main__":
    main()
