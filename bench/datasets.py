"""Benchmark: link N registered items (default 100,000) to a dataset against the emulator.

Set-up (not timed): N image URLs are ingested and planned into one chunk by the ledger, the chunk's
manifest is registered through a real upload job, and the job's result is recorded, as the
pipeline does (the emulator does not fetch the objects).

Ours: `sync_datasets` (the `encord_datasets` asset's step): a lookup, the dataset created, links
of 1,000 items a request with write-ahead marks in the ledger. Target: <= 110 requests for 100,000
items. Then an unchanged re-run (a lookup per dataset, no writes).
Baseline, in the same run: linking one item per call (`dataset.link_items([uuid])`, the loop a
script over the items would write), on a sample (default 2,000 items) scaled to N.
Request counts come from the emulator's counters.

    .venv/bin/python bench/datasets.py [--items 100000] [--baseline-sample 2000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from encord.user_client import EncordUserClient

from dagster_encord.config import pipeline_config
from dagster_encord.emulator import EncordEmulator
from dagster_encord.encord_client.client import EncordClient
from dagster_encord.ledger import Ledger
from dagster_encord.pipeline.dataset_sync import sync_datasets
from dagster_encord.pipeline.settings import IngestionSettings
from dagster_encord.pipeline.steps import apply_job_state
from dagster_encord.planner import PlannerConfig
from dagster_encord.sources.base import ObjectRecord

BUCKET = "s3://bench-frames"


def register(client: EncordClient, ledger: Ledger, folder: str, integration: str, n: int) -> None:
    """N files through the ledger and one real upload job, recorded as the pipeline records it."""
    when = datetime(2024, 1, 1, tzinfo=UTC)
    records = [
        ObjectRecord(f"f/{i:07d}.jpg", f"{BUCKET}/f/{i:07d}.jpg", 1000, f"v{i}", when, None)
        for i in range(n)
    ]
    ledger.ingest([records[i : i + 10_000] for i in range(0, n, 10_000)], BUCKET)
    (chunk,) = ledger.plan(PlannerConfig.from_mapping({"budget": {"image": n}})).chunks
    stored = ledger.mark_submitting(chunk.chunk_id)
    job_id = client.start_upload_job(folder, integration, stored.manifest_payload())
    ledger.mark_submitted(chunk.chunk_id, job_id)
    while (state := client.poll_upload_job(folder, job_id)).status == "PENDING":
        time.sleep(0.5)
    outcome = apply_job_state(client, ledger, folder, chunk.chunk_id, state)
    if outcome.registered != n:
        raise SystemExit(f"registration failed: {state.status}, {outcome}")


def settings_for(domain: str, folder: str, integration: str) -> IngestionSettings:
    config = pipeline_config(
        {
            "name": "bench",
            "encord": {"ssh_private_key_env": "UNUSED", "domain": domain},
            "source": {"url": BUCKET},
            "registration": {"folder": folder, "integration": integration},
            "datasets": [{"title": "bench-all"}],
        }
    )
    return IngestionSettings.from_config(config)


def requests(counters: dict[str, int]) -> int:
    return sum(counters.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--baseline-sample", type=int, default=2_000)
    args = parser.parse_args()
    n, sample = args.items, min(args.baseline_sample, args.items)

    with tempfile.TemporaryDirectory() as tmp, EncordEmulator(verify_objects=False) as emulator:
        client = EncordClient.from_ssh_key(emulator.new_ssh_key(), domain=emulator.domain)
        integration = emulator.add_integration("bench-s3", "s3")
        ledger = Ledger(f"sqlite:///{Path(tmp) / 'ledger.sqlite'}", pipeline="bench")
        user = EncordUserClient.create_with_ssh_private_key(
            emulator.new_ssh_key(), domain=emulator.domain
        )
        folder = str(user.create_storage_folder("bench").uuid)
        print(f"registering {n:,} items ...", flush=True)
        started = time.perf_counter()
        register(client, ledger, folder, integration, n)
        print(f"  set-up: {time.perf_counter() - started:.1f} s", flush=True)
        settings = settings_for(emulator.domain, folder, integration)

        emulator.reset_counters()
        started = time.perf_counter()
        report = sync_datasets(client, ledger, settings)
        ours_seconds = time.perf_counter() - started
        ours = emulator.counters()

        emulator.reset_counters()
        started = time.perf_counter()
        rerun = sync_datasets(client, ledger, settings)
        rerun_seconds = time.perf_counter() - started
        rerun_counts = emulator.counters()

        # Baseline: one link call per item, into a dataset of its own.
        items = [row.item_uuid for row in ledger.iter_files() if row.item_uuid][:sample]
        baseline_dataset = client.create_dataset("bench-one-per-call")
        emulator.reset_counters()
        started = time.perf_counter()
        for item_uuid in items:
            client.link_items(baseline_dataset.dataset_hash, [item_uuid])
        baseline_seconds = time.perf_counter() - started
        baseline = emulator.counters()
        linked_in_encord = len(client.dataset_rows(report.datasets["bench-all"]))

    scale = n / sample
    print(f"\nitems: {n:,}")
    print(
        f"ours (sync_datasets, 1,000 items a link): {requests(ours)} requests, "
        f"{ours_seconds:.1f} s; {report.linked['bench-all']:,} files linked, "
        f"{linked_in_encord:,} rows in the dataset"
    )
    for endpoint, count in sorted(ours.items()):
        print(f"    {count:>6}  {endpoint}")
    print(
        f"unchanged re-run: {requests(rerun_counts)} requests "
        f"({', '.join(sorted(rerun_counts))}), {rerun_seconds:.2f} s, "
        f"{sum(rerun.linked.values())} linked"
    )
    print(
        f"baseline (one item per link call) on {sample:,} items: {requests(baseline)} requests, "
        f"{baseline_seconds:.1f} s; scaled x{scale:g} to {n:,}: "
        f"{requests(baseline) * scale:,.0f} requests, {baseline_seconds * scale:.0f} s"
    )
    print(
        f"ratio: {requests(baseline) * scale / max(1, requests(ours)):,.0f}x fewer requests, "
        f"{baseline_seconds * scale / max(ours_seconds, 1e-9):.1f}x faster; target <= 110 "
        f"requests: {'met' if requests(ours) <= 110 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
