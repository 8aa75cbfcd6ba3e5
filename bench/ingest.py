"""Benchmark: register N images from S3 (moto) in an Encord folder (the emulator), end to end.

    .venv/bin/python bench/ingest.py [--files 10000] [--budgets 1000,3000]

The pipeline is `build_encord_ingestion` driven the way the daemon drives it: one tick of the
new-objects sensor, one in-process run per chunk (run key = chunk id), then job-status ticks.
Every file carries clientMetadata, put inline in the manifests. Each planner budget (images per
chunk at most; the default dense packing fills chunks to about 0.9 of it) runs against a fresh
folder and ledger.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import dagster as dg
from encord import EncordUserClient
from moto.server import ThreadedMotoServer

from dagster_encord.dagster.driver import DriveReport, PipelineDriver
from dagster_encord.dagster.factory import build_encord_ingestion
from dagster_encord.dagster.naming import PipelineNames
from dagster_encord.emulator import EncordEmulator
from dagster_encord.ledger import FileState, Ledger
from dagster_encord.metadata.sources import FromCallable
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


@dataclass
class PipelineRun:
    budget: int
    registered: int
    listed: int
    seconds: float
    runs: int
    failed_runs: int
    requests: Counter[str]
    late_state: str = ""
    late_ticks: int = 0
    late_seconds: float = 0.0
    late_requests: Counter[str] = field(default_factory=Counter)


def run_pipeline(
    emulator: EncordEmulator,
    user: EncordUserClient,
    integration: str,
    s3: Any,
    bucket: str,
    endpoint: str,
    budget: int,
    work: Path,
    *,
    late_object: bool,
) -> PipelineRun:
    folder = user.create_storage_folder(f"bench-{budget}-{uuid.uuid4().hex[:6]}")
    ledger_url = f"sqlite:///{work / f'ledger-{budget}.sqlite'}"
    defs = build_encord_ingestion(
        {
            "name": "bench",
            "encord": {"ssh_private_key_env": KEY_ENV, "domain": emulator.domain},
            "ledger": {"url": ledger_url},
            "source": {"url": f"s3://{bucket}", "options": {"endpoint_url": endpoint}},
            "registration": {
                "folder": str(folder.uuid),
                "integration": integration,
                "planner": {"budget": {"image": budget}},
            },
        },
        metadata_provider=FromCallable(metadata),
    )
    ledger = Ledger(ledger_url, pipeline="bench")
    home = work / f"dagster-{budget}"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        driver = PipelineDriver(defs, PipelineNames("bench"), instance, log_level="WARNING")
        before = emulator.counters()
        started = time.monotonic()
        report = DriveReport()
        report.add(driver.tick("new_objects"))
        while ledger.counts().pending and report.ticks < 600:
            time.sleep(0.5)
            report.add(driver.tick("job_status"))
            report.ticks += 1
        runs, failed = report.runs, report.failed_runs
        counts = ledger.counts()
        result = PipelineRun(
            budget,
            counts.registered,
            counts.listed,
            time.monotonic() - started,
            runs,
            failed,
            delta(emulator.counters(), before),
        )
        if late_object:
            # One new object after the bulk load: sensor ticks until it is registered.
            s3.put_object(Bucket=bucket, Key="late/new_object.png", Body=png(2, 2, (1, 2, 3)))
            before = emulator.counters()
            started = time.monotonic()
            for sensor in ("new_objects", "job_status", "job_status", "job_status"):
                driver.tick(sensor)
                result.late_ticks += 1
                row = ledger.file("late/new_object.png")
                if row is not None and row.state == FileState.REGISTERED:
                    break
            result.late_seconds = time.monotonic() - started
            result.late_requests = delta(emulator.counters(), before)
            row = ledger.file("late/new_object.png")
            result.late_state = row.state if row else "not listed"
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument(
        "--budgets", default="1000,3000", help="comma-separated planner image budgets to run"
    )
    args = parser.parse_args()
    budgets = [int(value) for value in args.budgets.split(",")]
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

        # Baseline: Encord's documented flow for the same files, in its own folder.
        baseline_folder = user.create_storage_folder(f"baseline-{uuid.uuid4().hex[:6]}")
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

        results = [
            run_pipeline(
                emulator,
                user,
                integration,
                s3,
                bucket,
                endpoint,
                budget,
                work,
                late_object=index == len(budgets) - 1,
            )
            for index, budget in enumerate(budgets)
        ]
        duplicates = emulator.duplicate_items()
    moto.stop()

    base_total = without_repeated_polls(baseline)
    print(
        f"\nbaseline (docs flow: registration + a metadata call per item): {baseline_seconds:.1f}s"
    )
    show("baseline Encord requests", baseline)
    print(f"  -> {base_total:,} requests not counting repeated long-poll waits")
    ok = duplicates == 0
    for result in results:
        total = without_repeated_polls(result.requests)
        chunks = result.requests.get(POST, 0)
        print(
            f"\npipeline, budget {result.budget} images/chunk: {result.registered:,}/"
            f"{result.listed:,} registered in {result.seconds:.1f}s, {chunks} chunks, "
            f"{result.runs} runs ({result.failed_runs} failed)"
        )
        show("pipeline Encord requests", result.requests)
        print(f"  -> {total} requests not counting repeated long-poll waits (target <= 40)")
        print(
            f"  ratio: {base_total / max(total, 1):,.0f}x fewer requests than the baseline, "
            f"{baseline_seconds / result.seconds:.2f}x its speed"
        )
        ok = ok and result.registered == result.listed and result.failed_runs == 0
        if result.late_state:
            print(
                f"  new object after the bulk load: {result.late_state} after "
                f"{result.late_ticks} sensor tick(s), {result.late_seconds:.1f}s, "
                f"{sum(result.late_requests.values())} Encord requests"
            )
            ok = ok and result.late_state == FileState.REGISTERED and result.late_ticks <= 2
    print(f"\nduplicate items in the emulator: {duplicates}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
