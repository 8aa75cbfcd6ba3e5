"""Encord emulator throughput, through the real SDK (the emulator must never be the bottleneck).

Prints:
- a 100,000-URL upload job (start + long-poll to DONE), against a 1,000-URL job as the baseline
  (URLs per second at both sizes: the ratio shows the job path scales linearly);
- a 10,000-URL job whose objects live in moto (existence checked by listing; header reads off),
  with the emulator's request count;
- 1,000 PNGs in moto registered with and without reading their headers for width and height
  (one range request per object);
- a bulk get and a bundled patch of 1,000 items: one request each, against 1,000 single
  requests as the baseline.
Usage: python bench/emulator.py [--urls 100000] [--moto-urls 10000] [--probe-urls 1000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from encord import EncordUserClient
from encord.http.bundle import Bundle

from dagster_encord.emulator import EncordEmulator


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def upload(folder: Any, integration: str, urls: list[str]) -> Any:
    spec = {"images": [{"objectUrl": url} for url in urls], "skip_duplicate_urls": True}
    job = folder.add_private_data_to_folder_start(integration, spec, ignore_errors=True)
    return folder.add_private_data_to_folder_get_result(job)


def bench_jobs(
    emulator: EncordEmulator, client: EncordUserClient, integration: str, n: int
) -> None:
    base_folder = client.create_storage_folder("baseline")
    base_urls = [f"https://bench.s3.eu-west-1.amazonaws.com/base/{i:07d}.jpg" for i in range(1000)]
    base_seconds, _ = timed(lambda: upload(base_folder, integration, base_urls))
    folder = client.create_storage_folder("big")
    urls = [f"https://bench.s3.eu-west-1.amazonaws.com/big/{i:07d}.jpg" for i in range(n)]
    emulator.reset_counters()
    seconds, result = timed(lambda: upload(folder, integration, urls))
    assert result.units_done_count == n, result
    rate, base_rate = n / seconds, 1000 / base_seconds
    print(f"upload job, {n:,} URLs: {seconds:.2f} s ({rate:,.0f} URLs/s); target < 30 s")
    print(
        f"  baseline 1,000-URL job: {base_seconds:.3f} s ({base_rate:,.0f} URLs/s); "
        f"throughput ratio big/baseline = {rate / base_rate:.2f}"
    )
    print(f"  requests: {emulator.counters()}")


def bench_moto(
    emulator: EncordEmulator, client: EncordUserClient, integration: str, n: int
) -> None:
    import logging
    import socket

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto logs every request otherwise
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        s3.create_bucket(Bucket="bench")
        with ThreadPoolExecutor(8) as pool:  # setup only, not measured
            list(
                pool.map(
                    lambda i: s3.put_object(Bucket="bench", Key=f"frames/{i:06d}.jpg", Body=b"x"),
                    range(n),
                )
            )
        urls = [f"{endpoint}/bench/frames/{i:06d}.jpg" for i in range(n)] + [
            f"{endpoint}/bench/frames/missing.jpg"
        ]
        folder = client.create_storage_folder("moto")
        emulator.reset_counters()
        seconds, result = timed(lambda: upload(folder, integration, urls))
        assert (result.units_done_count, result.units_error_count) == (n, 1), result
        print(
            f"upload job, {n:,} moto-verified URLs (+1 missing -> unit error): {seconds:.2f} s "
            f"({n / seconds:,.0f} URLs/s)"
        )
        print(f"  requests to the emulator: {sum(emulator.counters().values())}")
    finally:
        server.stop()


def bench_probe(n: int) -> None:
    import logging
    import socket

    import boto3
    from moto.server import ThreadedMotoServer

    from dagster_encord.quickstart.sample_media import png

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        s3.create_bucket(Bucket="bench")
        body = png(640, 480, (40, 80, 120))
        with ThreadPoolExecutor(8) as pool:  # setup only, not measured
            list(
                pool.map(
                    lambda i: s3.put_object(Bucket="bench", Key=f"png/{i:05d}.png", Body=body),
                    range(n),
                )
            )
        urls = [f"{endpoint}/bench/png/{i:05d}.png" for i in range(n)]
        for probe_media in (False, True):
            with EncordEmulator(probe_media=probe_media) as emulator:
                client = EncordUserClient.create_with_ssh_private_key(
                    emulator.new_ssh_key(), domain=emulator.domain
                )
                folder = client.create_storage_folder("png")
                integration = emulator.add_integration("bench", "s3")
                started = time.perf_counter()
                result = upload(folder, integration, urls)
                seconds = time.perf_counter() - started
                assert result.units_done_count == n, result
                sizes = {(i.width, i.height) for i in folder.list_items(page_size=1000)}
                state = "on" if probe_media else "off"
                print(
                    f"upload job, {n:,} PNGs in moto, header reads {state}: {seconds:.2f} s "
                    f"({n / seconds:,.0f} URLs/s); sizes {sorted(sizes, key=str)}"
                )
    finally:
        server.stop()


def report(
    what: str, seconds: float, requests: int, single: str, base: float, base_requests: int
) -> None:
    print(f"{what}, 1,000 items: {seconds:.3f} s in {requests} request(s)")
    print(f"  baseline {base_requests} single {single}: {base:.2f} s; ratio {base / seconds:.0f}x")


def bench_bulk(emulator: EncordEmulator, client: EncordUserClient, integration: str) -> None:
    folder = client.create_storage_folder("bulk")
    result = upload(folder, integration, [f"s3://bulk/{i:04d}.jpg" for i in range(1000)])
    uuids = [str(i.item_uuid) for i in result.items_with_names]
    emulator.reset_counters()
    bulk_seconds, items = timed(lambda: client.get_storage_items(uuids))
    bulk_requests = sum(emulator.counters().values())
    emulator.reset_counters()
    single_seconds, _ = timed(lambda: [client.get_storage_item(u) for u in uuids])
    single_requests = sum(emulator.counters().values())
    report("bulk get", bulk_seconds, bulk_requests, "gets", single_seconds, single_requests)

    def patch_bundled() -> None:
        with Bundle() as bundle:
            for item in items:
                item.update(client_metadata={"split": "train"}, bundle=bundle)

    def patch_single() -> None:
        for item in items:
            item.update(client_metadata={"split": "val"})

    emulator.reset_counters()
    bundled_seconds, _ = timed(patch_bundled)
    bundled_requests = sum(emulator.counters().values())
    emulator.reset_counters()
    single_seconds, _ = timed(patch_single)
    single_requests = sum(emulator.counters().values())
    report(
        "bundled patch",
        bundled_seconds,
        bundled_requests,
        "patches",
        single_seconds,
        single_requests,
    )


def bench_persisted(n: int) -> None:
    """The same big job with --state (SQLite write-through), then a restart that reloads it."""
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "encord.sqlite"
        with EncordEmulator(state_path=state) as emulator:
            client = EncordUserClient.create_with_ssh_private_key(
                emulator.new_ssh_key(), domain=emulator.domain
            )
            integration = emulator.add_integration("bench", "s3")
            folder = client.create_storage_folder("persisted")
            urls = [f"s3://bench/persisted/{i:07d}.jpg" for i in range(n)]
            seconds, result = timed(lambda: upload(folder, integration, urls))
            assert result.units_done_count == n, result
        reload_seconds, restarted = timed(lambda: EncordEmulator(state_path=state).start())
        items = len(restarted.items())
        restarted.stop()
        print(f"upload job, {n:,} URLs with --state (SQLite): {seconds:.2f} s")
        print(f"  restart reloads {items:,} items in {reload_seconds:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=100_000)
    parser.add_argument("--moto-urls", type=int, default=10_000)
    parser.add_argument("--probe-urls", type=int, default=1_000)
    args = parser.parse_args()
    with EncordEmulator(probe_media=False) as emulator:  # header reads: bench_probe
        client = EncordUserClient.create_with_ssh_private_key(
            emulator.new_ssh_key(), domain=emulator.domain
        )
        integration = emulator.add_integration("bench", "s3")
        bench_jobs(emulator, client, integration, args.urls)
        bench_bulk(emulator, client, integration)
        if args.moto_urls:
            bench_moto(emulator, client, integration, args.moto_urls)
    if args.probe_urls:
        bench_probe(args.probe_urls)
    bench_persisted(args.urls)


if __name__ == "__main__":
    main()
