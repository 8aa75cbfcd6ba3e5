"""Listing benchmark: our S3 listing (obstore engine, auto fan-out) vs the seed-002 boto3 loop.

Setup: `bench/s3_list_server.py` serves 100,000 keys over 16 prefixes on 127.0.0.1 and adds 50 ms
to every request. Both contenders build the same records (key, virtual-hosted URL, size, etag)
in the same run:
- baseline: the sequential boto3 paginator loop of Encord's "Helpful Scripts" (seed 002);
- ours: `open_source(...).list_pages(fan_out="auto", max_workers=16)`;
- ours with `engine="boto3"` (same fan-out, boto3's parser), for reference.
Then ours streams 1,000,000 keys while a sampler records peak RSS growth.
Targets: >= 10x the baseline's keys/s; <= 64 MB peak memory growth at 1M keys.

    .venv/bin/python bench/listing.py                  # full size
    .venv/bin/python bench/listing.py --keys 20000 --memory-keys 100000   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dagster_encord.sources import open_source  # noqa: E402

BUCKET = "bench"
REGION = "eu-west-2"


@contextmanager
def list_server(keys: int, prefixes: int, latency_ms: float) -> Iterator[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "s3_list_server.py"),
            "--keys",
            str(keys),
            "--prefixes",
            str(prefixes),
            "--latency-ms",
            str(latency_ms),
            "--bucket",
            BUCKET,
        ],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("READY"):
            raise RuntimeError(f"list server failed to start: {line!r}")
        yield f"http://127.0.0.1:{line.split()[1]}"
    finally:
        process.terminate()  # stop the server we started, by its PID
        process.wait(timeout=10)


def request_counts(endpoint: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{endpoint}/__stats", timeout=5) as response:
        counts: dict[str, int] = json.loads(response.read())
    return counts


def baseline_seed_002(endpoint: str) -> int:
    """The seed-002 loop: boto3, one paginator, sequential, URL built per key."""
    import boto3

    root_url = f"https://{BUCKET}.s3.{REGION}.amazonaws.com"
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=""):
        for item in page.get("Contents", ()):
            record = {
                "objectUrl": f"{root_url}/{item['Key']}",
                "size": item["Size"],
                "etag": item["ETag"],
            }
            count += record["size"] > 0
    return count


def ours(endpoint: str, engine: str) -> int:
    source = open_source(
        f"s3://{BUCKET}", endpoint_url=endpoint, region=REGION, engine=engine, url_style="virtual"
    )
    return sum(len(page) for page in source.list_pages(fan_out="auto", max_workers=16))


def measure(name: str, endpoint: str, run: Callable[[], int]) -> dict[str, Any]:
    before = request_counts(endpoint)
    started = time.perf_counter()
    cpu_started = time.process_time()
    keys = run()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    after = request_counts(endpoint)
    requests = {kind: after[kind] - before[kind] for kind in after}
    result = {
        "name": name,
        "keys": keys,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "keys_per_s": keys / seconds,
        "requests": requests,
    }
    print(
        f"{name:<34} {keys:>9,} keys {seconds:7.2f} s (client CPU {cpu:5.2f} s) "
        f"{keys / seconds:>9,.0f} keys/s  requests {sum(requests.values())} {requests}"
    )
    return result


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return sorted(runs, key=lambda run: run["keys_per_s"])[len(runs) // 2]


def peak_rss_growth(run: Callable[[], int]) -> tuple[int, float, float]:
    process = psutil.Process()
    baseline = process.memory_info().rss
    peak = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    keys = run()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    peak = max(peak, process.memory_info().rss)
    return keys, seconds, (peak - baseline) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--prefixes", type=int, default=16)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--memory-keys", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs; medians compared")
    parser.add_argument("--skip-boto3-engine", action="store_true")
    args = parser.parse_args()
    # The bench server ignores signatures; dummy credentials, generated per run.
    os.environ["AWS_ACCESS_KEY_ID"] = f"bench{secrets.token_hex(6)}"
    os.environ["AWS_SECRET_ACCESS_KEY"] = secrets.token_urlsafe(30)
    os.environ.pop("AWS_PROFILE", None)

    print(
        f"listing {args.keys:,} keys over {args.prefixes} prefixes, "
        f"+{args.latency_ms:.0f} ms per request, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} (other processes share the CPUs)"
    )
    with list_server(args.keys, args.prefixes, args.latency_ms) as endpoint:
        ours(endpoint, "obstore")  # warm imports (obstore, boto3) outside the timings
        bases: list[dict[str, Any]] = []
        fasts: list[dict[str, Any]] = []
        for _ in range(args.repeat):  # interleaved, so both see the same machine load
            bases.append(
                measure(
                    "baseline: seed-002 boto3 loop", endpoint, lambda: baseline_seed_002(endpoint)
                )
            )
            fasts.append(
                measure(
                    "ours: obstore engine, fan-out 16", endpoint, lambda: ours(endpoint, "obstore")
                )
            )
        if not args.skip_boto3_engine:
            measure("ours: boto3 engine, fan-out 16", endpoint, lambda: ours(endpoint, "boto3"))
    base = median_run(bases)
    fast = median_run(fasts)
    assert base["keys"] == fast["keys"] == args.keys, "contenders listed different key counts"
    print(
        f"median of {args.repeat}: baseline {base['keys_per_s']:,.0f} keys/s, "
        f"ours {fast['keys_per_s']:,.0f} keys/s"
    )
    ratio = fast["keys_per_s"] / base["keys_per_s"]
    print(
        f"ratio ours/baseline: {ratio:.1f}x (target >= 10x) -> {'PASS' if ratio >= 10 else 'FAIL'}"
    )

    with list_server(args.memory_keys, args.prefixes, args.latency_ms) as endpoint:
        before = request_counts(endpoint)
        keys, seconds, growth = peak_rss_growth(lambda: ours(endpoint, "obstore"))
        requests = sum(request_counts(endpoint).values()) - sum(before.values())
    print(
        f"memory: streamed {keys:,} keys in {seconds:.2f} s ({keys / seconds:,.0f} keys/s, "
        f"{requests} requests), peak RSS growth {growth:.1f} MB (target <= 64 MB) -> "
        f"{'PASS' if growth <= 64 else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
