"""Benchmark: 1,000,000 synthetic records through the ledger diff and into manifests.

    .venv/bin/python bench/planning.py [--records 1000000] [--url sqlite:///… | postgresql://…]

Run 1 ingests a fresh listing (bulk upsert + SQL diff) and plans it into persisted chunks.
Run 2 ingests the unchanged listing again and plans: 0 files. Targets (2-core machine): run 1
<= 60 s and <= 300 MB peak RSS; run 2 <= 20 s. Wall and CPU seconds are both printed: on a
shared machine the wall clock includes waiting for a core. The baseline, measured in the same
run, is the naive per-row ORM-style loop (SELECT the key, then INSERT or UPDATE, one row at a
time) on a sample, extrapolated. SQL statements are counted (an executemany counts once).

Chunk fill (files per chunk / budget, per lane) is printed for the default dense packing (run 1)
and for stable packing (the same listing previewed on a separate pipeline, rolled back, after
the run-1 and run-2 figures are taken). Target: dense image fill >= 0.85.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, event, insert, select, update

from dagster_encord.ledger import FileState, Ledger, PlanOutcome
from dagster_encord.ledger.tables import files
from dagster_encord.planner import PlannerConfig
from dagster_encord.sources.base import ObjectRecord

T0 = datetime(2024, 1, 1, tzinfo=UTC)
BASELINE_SAMPLE = 20_000


def synthetic(count: int, page_size: int = 10_000) -> Iterator[list[ObjectRecord]]:
    """90% images, 5% videos, 4% DICOM in 40-file series, 1% unsupported; ties on timestamps."""
    page: list[ObjectRecord] = []
    for n in range(count):
        kind = n % 100
        if kind < 90:
            key = f"images/cam{n % 7}/{n:08d}.jpg"
        elif kind < 95:
            key = f"videos/{n:08d}.mp4"
        elif kind < 99:
            key = f"dicom/study{n // 4000}/series{(n // 100) % 40}/{n:08d}.dcm"
        else:
            key = f"misc/{n:08d}.bin"
        when = T0 + timedelta(seconds=n // 1000)  # 1,000 objects share each timestamp
        page.append(
            ObjectRecord(
                key,
                f"https://bucket.s3.amazonaws.com/{key}",
                1000 + n % 5000,
                f"etag{n}",
                when,
                None,
            )
        )
        if len(page) == page_size:
            yield page
            page = []
    if page:
        yield page


class StatementCounter:
    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: object) -> None:
        self.count += 1


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def naive_baseline(url: str, sample: int) -> tuple[float, int]:
    """Per-row ORM-style upsert: SELECT by key, then INSERT or UPDATE; seconds and statements."""
    ledger = Ledger(url, pipeline="baseline")
    counter = StatementCounter(ledger.engine)
    started = time.perf_counter()
    with ledger.engine.connect() as conn:
        conn.execution_options(ledger_write=True)
        with conn.begin():
            for page in synthetic(sample, 1000):
                for record in page:
                    found = conn.execute(
                        select(files.c.version).where(
                            files.c.pipeline == "baseline", files.c.key == record.key
                        )
                    ).first()
                    values = {
                        "object_url": record.object_url,
                        "size": record.size,
                        "version": record.version,
                        "last_modified": record.last_modified.timestamp(),
                        "state": FileState.DISCOVERED,
                        "updated_at": time.time(),
                    }
                    if found is None:
                        conn.execute(
                            insert(files).values(
                                pipeline="baseline",
                                key=record.key,
                                first_seen_at=time.time(),
                                attempts=0,
                                source_url="",
                                **values,
                            )
                        )
                    elif found.version != record.version:
                        conn.execute(
                            update(files)
                            .where(files.c.pipeline == "baseline", files.c.key == record.key)
                            .values(**values)
                        )
    seconds = time.perf_counter() - started
    ledger.close()
    return seconds, counter.count


def fill(outcome: PlanOutcome, config: PlannerConfig) -> str:
    """Average chunk fill per lane: files / (chunks x budget)."""
    totals = outcome.totals
    return ", ".join(
        f"{lane} {totals.files[lane] / (chunks * config.budget_for(lane)):.2f}"
        for lane, chunks in sorted(totals.chunks.items())
        if chunks
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--url", help="ledger URL (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-planning-") as scratch:
        url = args.url or f"sqlite:///{Path(scratch) / 'ledger.sqlite'}"
        ledger = Ledger(url, pipeline="bench")
        counter = StatementCounter(ledger.engine)

        started = time.perf_counter()
        cpu_started = time.process_time()
        diff = ledger.ingest(synthetic(args.records), "s3://bucket")
        ingest_s = time.perf_counter() - started
        ingest_statements = counter.count
        plan_started = time.perf_counter()
        outcome = ledger.plan()
        plan_s = time.perf_counter() - plan_started
        run1_s = time.perf_counter() - started
        run1_cpu = time.process_time() - cpu_started
        run1_statements = counter.count
        rss_run1 = peak_rss_mb()

        counter.count = 0
        started = time.perf_counter()
        cpu_started = time.process_time()
        diff2 = ledger.ingest(synthetic(args.records), "s3://bucket")
        outcome2 = ledger.plan()
        run2_s = time.perf_counter() - started
        run2_cpu = time.process_time() - cpu_started
        run2_statements = counter.count
        ledger.close()

        stable_config = PlannerConfig(packing="stable")
        stable_ledger = Ledger(url, pipeline="bench-stable")
        stable_started = time.perf_counter()
        _, stable = stable_ledger.preview(synthetic(args.records), "s3://bucket", stable_config)
        stable_s = time.perf_counter() - stable_started
        stable_ledger.close()

        sample = min(BASELINE_SAMPLE, args.records)
        baseline_s, baseline_statements = naive_baseline(url, sample)
    baseline_ingest_s = baseline_s * args.records / sample
    totals = outcome.totals

    print(f"records: {args.records:,}  ledger: {url.split(':', 1)[0]}")
    print(
        f"run 1: {run1_s:.1f} s wall, {run1_cpu:.1f} s CPU "
        f"(ingest+diff {ingest_s:.1f} s, plan {plan_s:.1f} s), "
        f"peak RSS {rss_run1:.0f} MB, {run1_statements:,} SQL statements "
        f"({ingest_statements:,} for the ingest)"
    )
    print(
        f"  diff: {diff.new:,} new, {diff.changed:,} changed, {diff.deleted:,} deleted; "
        f"planned {outcome.planned_files:,} files in {len(outcome.chunks):,} chunks "
        f"({', '.join(f'{lane} {n:,}' for lane, n in sorted(totals.chunks.items()))}); "
        f"skipped {len(outcome.skipped):,}"
    )
    dense_config = PlannerConfig()
    print(f"  fill (dense, default; {len(outcome.chunks):,} chunks): {fill(outcome, dense_config)}")
    print(
        f"  fill (stable; {len(stable.chunks):,} chunks, ingest+plan preview {stable_s:.1f} s): "
        f"{fill(stable, stable_config)}"
    )
    image_fill = outcome.totals.files["image"] / (
        outcome.totals.chunks["image"] * dense_config.budget_for("image")
    )
    print(
        f"  chunk ratio: dense makes {len(outcome.chunks) / len(stable.chunks):.2f}x the chunks "
        f"of stable; dense image fill {image_fill:.2f} (target >= 0.85: "
        + ("met" if image_fill >= 0.85 else "MISSED")
        + ")"
    )
    print(
        f"run 2 (unchanged listing): {run2_s:.1f} s wall, {run2_cpu:.1f} s CPU, "
        f"{diff2.unchanged:,} unchanged, "
        f"planned {outcome2.planned_files:,} files, {run2_statements:,} SQL statements"
    )
    print(
        f"baseline (per-row ORM-style select+insert, {sample:,}-row sample): {baseline_s:.1f} s, "
        f"{baseline_statements:,} SQL statements; extrapolated to {args.records:,}: "
        f"{baseline_ingest_s:.0f} s"
    )
    print(f"ratio: ingest+diff is {baseline_ingest_s / ingest_s:.1f}x faster than the baseline")
    print(f"peak RSS at exit: {peak_rss_mb():.0f} MB; load average {os.getloadavg()[0]:.1f}")
    targets = run1_s <= 60 and rss_run1 <= 300 and run2_s <= 20 and outcome2.planned_files == 0
    print(
        "targets (run 1 <= 60 s, <= 300 MB; run 2 <= 20 s, 0 planned): "
        + ("met" if targets else "MISSED")
    )


if __name__ == "__main__":
    main()
