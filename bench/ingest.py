"""Benchmark: register N images from S3 (moto) in an Encord folder (the emulator), end to end.

    .venv/bin/python bench/ingest.py [--files 10000] [--budget 1000]

The pipeline is `build_encord_ingestion` driven the way the daemon drives it: one tick of the
new-objects sensor, one in-process run per chunk (run key = chunk id), then job-status ticks.
Every file carries clientMetadata, put inline in the manifests.

Baseline, measured in the same run against the same emulator: the flow in Encord's docs, for the
same files in a second folder: one registration job, then one metadata call per item
(`item.update(client_metadata=...)` after listing the folder).

Encord requests are counted by endpoint with the emulator's counters. Target: <= 40 requests in
total, not counting repeated long-poll waits (polls of a job after its first). Latency: after the
bulk load one new object is added; it must be registered within two sensor ticks plus the job's
own time.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import socket
import tempfile
import time
import uuid
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import dagster as dg
from encord import EncordUserClient
from moto.server import ThreadedMotoServer

from dagster_encord.dagster.factory import build_encord_ingestion
from dagster_encord.dagster.resources import EncordResource, LedgerResource
from dagster_encord.emulator import EncordEmulator
from dagster_encord.ledger import Ledger
from dagster_encord.metadata.sources import FromCallable
from dagster_encord.quickstart.runner import SensorDriver
from dagster_encord.quickstart.sample_media import png
from dagster_encord.sources import ObjectRecord

POLL = "GET /v2/public/storage/folders/{folder_uuid}/data-upload-jobs/{job_uuid}"
POST = "POST /v2/public/storage/folders/{folder_uuid}/data-upload-jobs"
KEY_ENV = "BENCH_ENCORD_SSH_KEY"


def metadata(record: ObjectRecord) -> dict[str, object]:
    return {
        "split": "train" if zlib.crc32(record.key.encode()) % 5 else "val",
        "camera": record.key[:4],
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def delta(after: dict[str, int], before: dict[str, int]) -> Counter[str]:
    counts = Counter(after)
    counts.subtract(before)
    return Counter({k: v for k, v in counts.items() if v})


def without_repeated_polls(counts: Counter[str]) -> int:
    jobs = counts.get(POST, 0)
    return sum(counts.values()) - max(0, counts.get(POLL, 0) - jobs)


def show(title: str, counts: Counter[str]) -> None:
    print(f"  {title}: {sum(counts.values()):,} requests")
    for endpoint, count in counts.most_common():
        print(f"    {count:>7,}  {endpoint}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--budget", type=int, default=1000, help="images per chunk")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    os.environ["DAGSTER_DISABLE_TELEMETRY"] = "1"
    os.environ["AWS_ACCESS_KEY_ID"] = f"bench{secrets.token_hex(6)}"
    os.environ["AWS_SECRET_ACCESS_KEY"] = secrets.token_urlsafe(24)
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"

    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    os.environ["DAGSTER_HOME"] = str(work)
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    bucket = "bench-ingest"
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=bucket)
    body = png(2, 2, (10, 20, 30))
    started = time.monotonic()
    keys = [f"cam{i % 10}/img_{i:06d}.png" for i in range(args.files)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda key: s3.put_object(Bucket=bucket, Key=key, Body=body), keys))
    print(f"{args.files:,} images put in s3://{bucket} (moto) in {time.monotonic() - started:.1f}s")

    with EncordEmulator() as emulator:
        key = emulator.new_ssh_key()
        os.environ[KEY_ENV] = key
        integration = emulator.add_integration("bench-s3", "s3")
        user = EncordUserClient.create_with_ssh_private_key(key, domain=emulator.domain)
        folder = user.create_storage_folder(f"bench-{uuid.uuid4().hex[:6]}")
        baseline_folder = user.create_storage_folder(f"baseline-{uuid.uuid4().hex[:6]}")

        defs = build_encord_ingestion(
            "bench",
            source=f"s3://{bucket}",
            source_options={"endpoint_url": endpoint},
            folder=str(folder.uuid),
            integration=integration,
            planner={"budget": {"image": args.budget}},
            metadata_provider=FromCallable(metadata),
            encord=EncordResource(ssh_private_key=dg.EnvVar(KEY_ENV), domain=emulator.domain),
            ledger=LedgerResource(url=f"sqlite:///{work / 'ledger.sqlite'}"),
        )
        ledger = Ledger(f"sqlite:///{work / 'ledger.sqlite'}", pipeline="bench")
        with dg.instance_for_test(temp_dir=str(work)) as instance:
            driver = SensorDriver(defs, "bench", instance, log_level="WARNING")
            before = emulator.counters()
            started = time.monotonic()
            runs, failed = driver.tick("new_objects")
            ticks = 0
            while ledger.counts().pending and ticks < 600:
                time.sleep(0.5)
                launched, lost = driver.tick("job_status")
                runs, failed, ticks = runs + launched, failed + lost, ticks + 1
            pipeline_seconds = time.monotonic() - started
            pipeline = delta(emulator.counters(), before)
            counts = ledger.counts()

            # One new object after the bulk load: ticks until it is registered.
            s3.put_object(Bucket=bucket, Key="late/new_object.png", Body=body)
            before_late = emulator.counters()
            started = time.monotonic()
            late_ticks = 0
            for sensor in ("new_objects", "job_status", "job_status", "job_status"):
                driver.tick(sensor)
                late_ticks += 1
                row = ledger.file("late/new_object.png")
                if row is not None and row.state == "registered":
                    break
            late_seconds = time.monotonic() - started
            late = delta(emulator.counters(), before_late)
            late_row = ledger.file("late/new_object.png")

        # Baseline: Encord's documented flow for the same files.
        urls = [f"{endpoint}/{bucket}/{k}" for k in keys]
        before = emulator.counters()
        started = time.monotonic()
        job = baseline_folder.add_private_data_to_folder_start(
            integration, {"images": [{"objectUrl": url} for url in urls]}, ignore_errors=True
        )
        baseline_folder.add_private_data_to_folder_get_result(job)
        for item in baseline_folder.list_items():
            item.update(
                client_metadata={"split": "train", "camera": (item.name or "").lstrip("/")[:4]}
            )
        baseline_seconds = time.monotonic() - started
        baseline = delta(emulator.counters(), before)
        duplicates = emulator.duplicate_items()

    total = without_repeated_polls(pipeline)
    base_total = without_repeated_polls(baseline)
    print(
        f"\npipeline: {counts.registered:,}/{args.files:,} registered in "
        f"{pipeline_seconds:.1f}s, {runs} chunk runs ({failed} failed), {ticks} job-status ticks"
    )
    show("pipeline Encord requests", pipeline)
    print(f"  -> {total} requests not counting repeated long-poll waits (target <= 40)")
    print(f"\nbaseline (docs flow): {baseline_seconds:.1f}s")
    show("baseline Encord requests", baseline)
    print(f"  -> {base_total:,} requests not counting repeated long-poll waits")
    print(f"\nratio baseline/pipeline requests: {base_total / max(total, 1):,.0f}x fewer")
    print(f"ratio baseline/pipeline seconds: {baseline_seconds / pipeline_seconds:.2f}")
    state = late_row.state if late_row else "not listed"
    print(
        f"\nnew object after the bulk load: {state} after {late_ticks} sensor ticks, "
        f"{late_seconds:.1f}s, {sum(late.values())} Encord requests ({dict(late)})"
    )
    print(f"duplicate items in the emulator: {duplicates}")
    moto.stop()
    ok = counts.registered == args.files and total <= 40 and duplicates == 0
    ok = ok and state == "registered" and late_ticks <= 2
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
