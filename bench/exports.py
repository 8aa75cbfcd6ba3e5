"""Benchmark: export N labelled rows (default 20,000, 5 objects each) with `export_labels`.

Setup (timed apart, not compared): N images registered with one upload job and linked to two
datasets (the first M rows, default 5,000, and the rest); a workflow project over both and a
second one over the first dataset only, created by `sync_project`; every row of both projects
labelled through the real SDK: 3 boxes and 2 polygons a `LabelRowV2`, initialised and saved in
bundles of 1,000, by a few worker processes at once.

Ours: `export_labels` as users run it (format json, default shard_rows, mode incremental), into
a file:// folder (or s3 on moto with --destination s3). Every export runs in a fresh child
process, so its peak RSS is its own: the emulator (and moto) run in this process.
Baseline, in the same run and also in a child process: the SDK's straightforward loop,
`project.list_label_rows_v2()` then `row.initialise_labels()` (no bundle, one request a row) and
`to_encord_dict()` per row, on the first B rows (default 1,000), extrapolated to N rows (the
listing once, the per-row loop N times).
Both run twice: on loopback, where a request costs about a millisecond and the SDK's own work on a
row (parsing it into a `LabelRowV2`, `to_encord_dict()`), the same on both sides, dominates; and
with --latency-ms (default 50) added to every request by the emulator, a round trip to Encord's
API (the baseline then on --latency-baseline-rows, default 200).
Memory: peak RSS growth of the export of the M-row project against the N-row one.
Then the export runs again with nothing edited (it must write nothing), and again after 10 rows
are edited through the SDK (incremental): it must write exactly those 10 rows.

Requests come from the emulator's counters (exact). Targets: <= 25 requests for 20,000 rows;
>= 10x the baseline's rows/s; peak RSS growth at N rows within 1.5x of that at M rows.

    .venv/bin/python bench/exports.py                    # full size: 20,000 rows
    .venv/bin/python bench/exports.py --quick            # smoke run: 2,000 rows
    .venv/bin/python bench/exports.py --rows 5000 --memory-rows 1000 --destination s3
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import os
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dagster_encord.emulator import DEFAULT_WORKFLOW_TEMPLATE_UUID, EncordEmulator  # noqa: E402

KEY_ENV = "BENCH_ENCORD_SSH_KEY"
BUNDLE = 1000
PIPELINE = "bench"
ONTOLOGY = """
objects:
  - {name: car, shape: bounding_box}
  - {name: person, shape: polygon}
classifications:
  - {name: weather, options: [sunny, rain]}
"""
BOXES, POLYGONS = 3, 2  # objects a row
TARGET_REQUESTS, TARGET_RATIO, TARGET_GROWTH = 25, 10.0, 1.5


# --- child processes: one export, the baseline loop, or a labelling worker ----------------------


def child_main(job: dict[str, Any]) -> dict[str, Any]:
    tasks = {"export": child_export, "baseline": child_baseline, "label": child_label}
    return tasks[job["task"]](job)


def user_client(domain: str) -> Any:
    from encord import EncordUserClient

    return EncordUserClient.create_with_ssh_private_key(os.environ[KEY_ENV], domain=domain)


class PeakRss:
    """Peak RSS over a block: `ru_maxrss` when the block raised it (exact), else a 10 ms sampler;
    growth is against the RSS when the block started."""

    def __init__(self) -> None:
        import psutil

        self.process = psutil.Process()
        self.start = self.sampled = self.process.memory_info().rss
        self.max_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self.done.wait(0.01):
            self.sampled = max(self.sampled, self.process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()
        max_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self.peak = max_after if max_after > self.max_before else self.sampled
        self.end = self.process.memory_info().rss

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / 2**20


def child_export(job: dict[str, Any]) -> dict[str, Any]:
    from dagster_encord.config import ExportSection
    from dagster_encord.encord_client.client import EncordClient
    from dagster_encord.exports import export_labels
    from dagster_encord.ledger import Ledger
    from dagster_encord.sources import open_source

    client = EncordClient.from_ssh_key(os.environ[KEY_ENV], domain=job["domain"])
    ledger = Ledger(job["ledger"], pipeline=PIPELINE)
    section = ExportSection.model_validate(
        {"name": "all", "format": "json", "destination": job["destination"]}
    )
    destination = open_source(job["destination"], **job["options"])
    for module in (
        "encord.objects",
        "encord.project",
        "encord.orm.label_row",
        "encord.http.bundle",
    ):
        importlib.import_module(module)  # what the export imports, before the measurement
    with PeakRss() as rss:
        started = time.perf_counter()
        report = export_labels(
            client, section, job["project"], destination, ledger.export_states, pipeline=PIPELINE
        )
        seconds = time.perf_counter() - started
    ledger.close()
    return {
        "rows": report.rows,
        "objects": report.objects,
        "shards": report.shards,
        "bytes": report.bytes,
        "unchanged": report.unchanged,
        "sequence": report.sequence,
        "manifest_url": report.manifest_url,
        "seconds": seconds,
        "rss_start_mb": rss.start / 2**20,
        "rss_peak_mb": rss.peak / 2**20,
        "growth_mb": rss.growth_mb,
    }


def child_baseline(job: dict[str, Any]) -> dict[str, Any]:
    project = user_client(job["domain"]).get_project(job["project_hash"])
    started = time.perf_counter()
    rows = project.list_label_rows_v2()
    listed = time.perf_counter()
    labelled = [row for row in rows if row.label_hash is not None][: job["rows"]]
    objects = 0
    for row in labelled:
        row.initialise_labels()
        objects += len(row.to_encord_dict()["object_answers"])
    looped = time.perf_counter()
    return {
        "listed": len(rows),
        "rows": len(labelled),
        "objects": objects,
        "list_seconds": listed - started,
        "loop_seconds": looped - listed,
    }


def child_label(job: dict[str, Any]) -> dict[str, Any]:
    """Label the rows of `data_hashes`: initialise a bundle, add the objects, save a bundle."""
    from encord.objects import Object
    from encord.objects.coordinates import (
        BoundingBoxCoordinates,
        PointCoordinate,
        PolygonCoordinates,
    )

    project = user_client(job["domain"]).get_project(job["project_hash"])
    car = project.ontology_structure.get_child_by_title("car", type_=Object)
    person = project.ontology_structure.get_child_by_title("person", type_=Object)
    data_hashes = json.loads(Path(job["data_hashes"]).read_text())
    extra = job.get("extra_boxes", 0)  # an edit: one more box on rows labelled already
    labelled = 0
    for start in range(0, len(data_hashes), BUNDLE):
        rows = project.list_label_rows_v2(data_hashes=data_hashes[start : start + BUNDLE])
        with project.create_bundle(bundle_size=BUNDLE) as bundle:
            for row in rows:
                row.initialise_labels(bundle=bundle)
        for index, row in enumerate(rows):
            boxes = [(0.05 * n, 0.3) for n in range(BOXES if not extra else 0)] + [
                (0.5, 0.6) for _ in range(extra)
            ]
            for left, top in boxes:
                box = car.create_instance()
                box.set_for_frames(
                    BoundingBoxCoordinates(height=0.1, width=0.2, top_left_x=left, top_left_y=top),
                    frames=0,
                )
                row.add_object_instance(box)
            for n in range(POLYGONS if not extra else 0):
                polygon = person.create_instance()
                corner = 0.01 * ((index + n) % 50)
                polygon.set_for_frames(
                    PolygonCoordinates(
                        [
                            PointCoordinate(0.1 + corner, 0.1),
                            PointCoordinate(0.4, 0.1 + corner),
                            PointCoordinate(0.4, 0.5),
                        ]
                    ),
                    frames=0,
                )
                row.add_object_instance(polygon)
        with project.create_bundle(bundle_size=BUNDLE) as bundle:
            for row in rows:
                row.save(bundle=bundle)
        labelled += len(rows)
    return {"rows": labelled}


@dataclass
class ChildRun:
    result: dict[str, Any]
    requests: Counter[str]


def run_child(emulator: EncordEmulator, job: dict[str, Any]) -> ChildRun:
    """One child process; the requests it made, from the emulator's counters."""
    emulator.reset_counters()
    result = spawn(job)
    return ChildRun(result, Counter(emulator.counters()))


def spawn(job: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(job)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"child {job['task']} failed ({done.returncode}):\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- setup ------------------------------------------------------------------------------------


@dataclass
class Project:
    title: str
    project_hash: str
    data_hashes: list[str]


def build_projects(
    emulator: EncordEmulator, work: Path, rows: int, memory_rows: int, workers: int
) -> tuple[Project, Project]:
    from encord.orm.dataset import StorageLocation

    from dagster_encord.annotation.project import sync_project
    from dagster_encord.config import ProjectSection
    from dagster_encord.encord_client.client import EncordClient

    user = user_client(emulator.domain)
    client = EncordClient.from_ssh_key(os.environ[KEY_ENV], domain=emulator.domain)
    integration = emulator.add_integration("bench-s3", "s3")
    folder = user.create_storage_folder("bench-exports")
    spec = {
        "images": [{"objectUrl": f"s3://bench-frames/cam/{n:06d}.jpg"} for n in range(rows)],
        "skip_duplicate_urls": True,
    }
    job = folder.add_private_data_to_folder_start(integration, spec, ignore_errors=True)
    result = folder.add_private_data_to_folder_get_result(job)
    if result.units_done_count != rows:
        raise SystemExit(f"registration failed: {result}")
    items = sorted(result.items_with_names, key=lambda item: item.name)
    item_uuids = [item.item_uuid for item in items]
    data_hashes: list[str] = []
    for title, part in (
        ("bench-a", item_uuids[:memory_rows]),
        ("bench-b", item_uuids[memory_rows:]),
    ):
        created = user.create_dataset(title, StorageLocation.AWS, create_backing_folder=False)
        dataset = user.get_dataset(created.dataset_hash)
        for start in range(0, len(part), BUNDLE):
            linked = dataset.link_items(part[start : start + BUNDLE])
            data_hashes += [row.uid for row in linked]
    ontology = work / "ontology.yaml"
    ontology.write_text(ONTOLOGY, encoding="utf-8")
    projects = []
    for title, datasets, hashes in (
        (f"bench-{rows}", ["bench-a", "bench-b"], data_hashes),
        (f"bench-{memory_rows}", ["bench-a"], data_hashes[:memory_rows]),
    ):
        section = ProjectSection(
            title=title,
            ontology=str(ontology),
            workflow_template=DEFAULT_WORKFLOW_TEMPLATE_UUID,
            datasets=datasets,
        )
        report = sync_project(client, section)
        projects.append(Project(title, report.project.project_hash, hashes))
    for project in projects:
        label_in_parallel(emulator, work, project, project.data_hashes, workers)
    return projects[0], projects[1]


def label_in_parallel(
    emulator: EncordEmulator,
    work: Path,
    project: Project,
    data_hashes: Sequence[str],
    workers: int,
    extra_boxes: int = 0,
) -> int:
    """Label `data_hashes` in `workers` child processes, each a share of whole bundles."""
    bundles = [data_hashes[i : i + BUNDLE] for i in range(0, len(data_hashes), BUNDLE)]
    shares = [list(itertools.chain(*bundles[w::workers])) for w in range(workers)]
    jobs = []
    for index, share in enumerate(s for s in shares if s):
        path = work / f"hashes-{project.title}-{index}.json"
        path.write_text(json.dumps(share))
        jobs.append(
            {
                "task": "label",
                "domain": emulator.domain,
                "project_hash": project.project_hash,
                "data_hashes": str(path),
                "extra_boxes": extra_boxes,
            }
        )
    with ThreadPoolExecutor(len(jobs)) as pool:
        return sum(result["rows"] for result in pool.map(spawn, jobs))


# --- destinations -----------------------------------------------------------------------------


@contextmanager
def destinations(kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The destination URL root and its options: a temp folder, or a bucket on moto."""
    if kind == "file":
        with tempfile.TemporaryDirectory(prefix="bench-exports-out-") as folder:
            yield Path(folder).as_uri(), {}
        return
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    os.environ["AWS_ACCESS_KEY_ID"] = f"bench{secrets.token_hex(6)}"
    os.environ["AWS_SECRET_ACCESS_KEY"] = secrets.token_urlsafe(24)
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="bench-exports")
        yield "s3://bench-exports", {"endpoint_url": endpoint, "region": "us-east-1"}
    finally:
        server.stop()


def written_label_hashes(url: str, options: dict[str, Any], manifest_url: str) -> list[str]:
    """The label hashes in the shards the manifest lists, read back from the destination `url`
    (the export's own, as shard keys are under its prefix)."""
    from dagster_encord.sources import open_source

    source = open_source(url, **options)
    manifest = json.loads(source.read_bytes(source.key_from_url(manifest_url)))
    return [
        json.loads(line)["label_hash"]
        for shard in manifest["shards"]
        for line in source.read_bytes(shard["key"]).decode("utf-8").splitlines()
    ]


# --- report ---------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def show_requests(counts: Counter[str]) -> None:
    for endpoint, count in counts.most_common():
        print(f"      {count:>6,}  {endpoint}")


def ours_rate(run: ChildRun) -> float:
    return float(run.result["rows"] / run.result["seconds"])


def loop_rate(run: ChildRun) -> float:
    return float(run.result["rows"] / run.result["loop_seconds"])


def median(runs: list[ChildRun], key: Callable[[ChildRun], float]) -> ChildRun:
    return sorted(runs, key=key)[len(runs) // 2]


def compare(title: str, n: int, pairs: list[tuple[ChildRun, ChildRun]]) -> tuple[int, float]:
    """Print ours against the baseline extrapolated to n rows, medians of interleaved runs;
    (our requests, the rows/s ratio)."""
    ours = median([mine for mine, _ in pairs], ours_rate)
    baseline = median([base for _, base in pairs], loop_rate)
    mine, requests = ours.result, sum(ours.requests.values())
    rate = ours_rate(ours)
    print(f"\n{title}")
    if len(pairs) > 1:
        print(
            f"  {len(pairs)} interleaved runs, medians below; rows/s ours "
            f"{', '.join(f'{ours_rate(m):,.0f}' for m, _ in pairs)}, baseline loop "
            f"{', '.join(f'{loop_rate(b):,.0f}' for _, b in pairs)}"
        )
    print(
        f"  ours (export_labels: json, incremental, first window): {requests} requests, "
        f"{mine['seconds']:.1f} s, {rate:,.0f} rows/s; {mine['rows']:,} rows, "
        f"{mine['objects']:,} objects, {mine['shards']} shards, {mine['bytes'] / 2**20:.1f} MB"
    )
    show_requests(ours.requests)
    base = baseline.result
    base_requests = sum(baseline.requests.values())
    base_seconds = base["list_seconds"] + base["loop_seconds"] / base["rows"] * n
    base_rate = n / base_seconds
    print(
        f"  baseline (list_label_rows_v2, then initialise_labels + to_encord_dict a row) on "
        f"{base['rows']:,} of {base['listed']:,} listed rows: {base_requests:,} requests, listing "
        f"{base['list_seconds']:.2f} s + loop {base['loop_seconds']:.1f} s "
        f"({base['rows'] / base['loop_seconds']:,.0f} rows/s in the loop)"
    )
    show_requests(baseline.requests)
    print(
        f"    extrapolated to {n:,} rows: ~{base_requests - base['rows'] + n:,} requests, "
        f"{base_seconds:,.0f} s, {base_rate:,.0f} rows/s"
    )
    ratio = rate / base_rate
    print(
        f"  ratio ours/baseline rows/s: {ratio:.1f}x (target >= {TARGET_RATIO:g}x): "
        f"{verdict(ratio >= TARGET_RATIO)}; requests {requests} (target <= {TARGET_REQUESTS} "
        f"for 20,000 rows): {verdict(requests <= TARGET_REQUESTS)}"
    )
    return requests, ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="labelled rows exported")
    parser.add_argument(
        "--memory-rows", type=int, default=5_000, help="rows of the smaller export (memory)"
    )
    parser.add_argument("--baseline-rows", type=int, default=1_000)
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=50.0,
        help="also compare with this much latency added to every request (0: skip)",
    )
    parser.add_argument(
        "--latency-baseline-rows", type=int, default=200, help="baseline rows with latency"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="interleaved runs of ours and the baseline"
    )
    parser.add_argument("--edits", type=int, default=10, help="rows edited before the re-run")
    parser.add_argument(
        "--workers", type=int, default=min(4, os.cpu_count() or 1), help="labelling processes"
    )
    parser.add_argument("--destination", choices=["file", "s3"], default="file")
    parser.add_argument("--quick", action="store_true", help="2,000 rows (500 and 200)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_main(json.loads(args.child))))
        return 0
    if args.quick:
        args.rows, args.memory_rows, args.baseline_rows = 2_000, 500, 200
        args.latency_baseline_rows = min(args.latency_baseline_rows, 50)
    n, m = args.rows, min(args.memory_rows, args.rows)

    with (
        tempfile.TemporaryDirectory(prefix="bench-exports-") as tmp,
        destinations(args.destination) as (out_root, options),
        EncordEmulator(verify_objects=False, probe_media=False) as emulator,
    ):
        work = Path(tmp)
        os.environ[KEY_ENV] = emulator.new_ssh_key()
        print(
            f"exports of {n:,} labelled rows ({BOXES} boxes + {POLYGONS} polygons each) to "
            f"{args.destination}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} "
            "(other processes share the CPUs)",
            flush=True,
        )
        started = time.perf_counter()
        big, small = build_projects(emulator, work, n, m, args.workers)
        print(
            f"setup: {n + m:,} rows labelled in 2 projects ({n:,} and {m:,} rows) in "
            f"{time.perf_counter() - started:.1f} s ({args.workers} labelling processes)",
            flush=True,
        )

        def export(project: Project, run: str) -> ChildRun:
            return run_child(
                emulator,
                {
                    "task": "export",
                    "domain": emulator.domain,
                    "project": project.title,
                    "destination": f"{out_root}/{run}/",
                    "options": options,
                    "ledger": f"sqlite:///{work / f'ledger-{run}.sqlite'}",
                },
            )

        def baseline(rows: int) -> ChildRun:
            job = {"domain": emulator.domain, "project_hash": big.project_hash, "rows": rows}
            return run_child(emulator, {"task": "baseline", **job})

        # Interleaved, so ours and the baseline see the same load (other processes share the
        # CPUs); every export is a first window, into its own folder with its own ledger.
        pairs, smaller = [], []
        for index in range(args.repeat):
            pairs.append((export(big, f"rows-{n}-{index}"), baseline(args.baseline_rows)))
            smaller.append(export(small, f"rows-{m}-{index}"))
        slow = []
        if args.latency_ms > 0:
            emulator.add_latency(args.latency_ms / 1000)
            for index in range(args.repeat):
                ours = export(big, f"rows-{n}-latency-{index}")
                slow.append((ours, baseline(args.latency_baseline_rows)))
            emulator.clear_faults()
        first = f"rows-{n}-0"  # the re-runs continue its windows
        unchanged = export(big, first)  # nothing edited since its first window
        edited = big.data_hashes[:: max(1, n // args.edits)][: args.edits]
        edit_started = time.perf_counter()
        label_in_parallel(emulator, work, big, edited, 1, extra_boxes=1)
        edit_seconds = time.perf_counter() - edit_started
        rerun = export(big, first)
        edited_labels = {
            str(row.label_hash)
            for row in user_client(emulator.domain)
            .get_project(big.project_hash)
            .list_label_rows_v2(data_hashes=edited)
        }
        rerun_written = (
            written_label_hashes(f"{out_root}/{first}/", options, rerun.result["manifest_url"])
            if rerun.result["manifest_url"]
            else []
        )
        unrouted = [k for k in emulator.counters() if k.startswith("unrouted")]

    requests, ratio = compare(f"{n:,} rows, emulator on loopback (no added latency):", n, pairs)
    if slow:
        compare(
            f"{n:,} rows, +{args.latency_ms:g} ms added to every request (a round trip to "
            "Encord's API; --latency-ms):",
            n,
            slow,
        )

    small_run = median(smaller, lambda run: float(run.result["growth_mb"]))
    large_run = median([mine for mine, _ in pairs], lambda run: float(run.result["growth_mb"]))
    mine, small_r = large_run.result, small_run.result
    growth_ratio = mine["growth_mb"] / max(small_r["growth_mb"], 1e-9)
    print(
        "\npeak RSS growth of the export (a fresh child process each, median of "
        f"{args.repeat}; emulator not counted):"
    )
    for rows, result, run in ((m, small_r, small_run), (n, mine, large_run)):
        print(
            f"  {rows:>7,} rows: +{result['growth_mb']:.1f} MB (from "
            f"{result['rss_start_mb']:.0f} MB to a peak of {result['rss_peak_mb']:.0f} MB), "
            f"{result['seconds']:.1f} s, {sum(run.requests.values())} requests"
        )
    print(
        f"  ratio {n:,}/{m:,} rows: {growth_ratio:.2f}x (target <= {TARGET_GROWTH:g}x): "
        f"{verdict(growth_ratio <= TARGET_GROWTH)}"
    )

    same = unchanged.result
    print(
        f"\nincremental re-run with nothing edited: {sum(unchanged.requests.values())} requests, "
        f"{same['seconds']:.2f} s; wrote {same['rows']} rows, manifest "
        f"{'written' if same['manifest_url'] else 'not written'}; {same['unchanged']} rows at "
        "the watermark second re-read and found unchanged"
    )
    show_requests(unchanged.requests)
    again = rerun.result
    exact = sorted(rerun_written) == sorted(edited_labels) and len(rerun_written) == args.edits
    print(
        f"\nincremental re-run after {args.edits} rows edited through the SDK "
        f"({edit_seconds:.1f} s to edit): {sum(rerun.requests.values())} requests, "
        f"{again['seconds']:.2f} s, window {again['sequence']}; wrote {again['rows']} rows; "
        f"{again['unchanged']} rows at the watermark second re-read and found unchanged"
    )
    show_requests(rerun.requests)
    print(
        f"  wrote exactly the {args.edits} edited rows: {'yes' if exact else 'NO'} "
        f"({len(rerun_written)} rows read back from its shards)"
    )
    if unrouted:
        print(f"\nunrouted requests: {unrouted}")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    met = (
        requests <= TARGET_REQUESTS
        and ratio >= TARGET_RATIO
        and growth_ratio <= TARGET_GROWTH
        and exact
        and same["rows"] == 0
        and not unrouted
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
