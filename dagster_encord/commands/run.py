"""`dagster-encord run PIPELINE.yaml [--once] [--dagster-home DIR]`: the whole pipeline in process.

Without a Dagster deployment: the listing, a run per chunk, the job-status sensor until nothing
is pending, the later sections (metadata), then the checks; a summary; exit 1 when a check
fails, a step fails or files are left pending. Without `--once` it keeps ticking the sensors like
the daemon until Ctrl-C. Runs live in the Dagster instance at DAGSTER_HOME, so `dagster dev` on
the same home shows them; a `run` that was killed is resumed by the next one at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pipeline_yaml", metavar="PIPELINE.yaml", type=Path, help="the pipeline")
    parser.add_argument(
        "--once", action="store_true", help="run until nothing is pending, then exit"
    )
    parser.add_argument(
        "--dagster-home",
        type=Path,
        help="Dagster instance folder (default $DAGSTER_HOME, else .dagster_home)",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=1800.0,
        help="with --once: give up waiting for pending files after this long (1800)",
    )
    parser.add_argument(
        "--log-level", default="WARNING", help="Dagster run log level on the console (WARNING)"
    )


def run(args: argparse.Namespace) -> int:
    from dagster_encord.config import load_pipeline_config

    config = load_pipeline_config(args.pipeline_yaml)  # before any Dagster import: fast errors
    home = dagster_home(args.dagster_home)
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

    from dagster_encord.dagster.runner import run_in_instance

    def progress(line: str) -> None:
        print(f"  {line}", file=sys.stderr, flush=True)

    print(f"pipeline {config.name}: {args.pipeline_yaml} (DAGSTER_HOME={home})", file=sys.stderr)
    summary = run_in_instance(
        config,
        once=args.once,
        max_seconds=args.max_seconds,
        log_level=args.log_level,
        progress=progress,
    )
    counts = summary.counts
    print(
        f"{config.name}: {counts.registered} registered of {counts.listed} listed, "
        f"{counts.pending} pending, {counts.failed} failed, {counts.quarantined} quarantined, "
        f"{counts.skipped} skipped; {summary.report.runs} runs "
        f"({summary.report.failed_runs} failed) in {summary.seconds:.1f}s"
    )
    for asset, numbers in summary.later.items():
        shown = ", ".join(f"{label} {value:g}" for label, value in numbers.items() if value)
        print(f"  {asset}: {shown or 'nothing to report'}")
    for check, passed in sorted(summary.report.checks.items()):
        print(f"  check {check}: {'passed' if passed else 'FAILED'}")
    for step in summary.failed_steps:
        print(f"  step {step}: FAILED (see the run's logs in the Dagster UI)")
    if summary.timed_out:
        print(f"  gave up after {args.max_seconds:.0f}s with {counts.pending} files pending")
    return 0 if summary.ok else 1


def dagster_home(given: Path | None) -> Path:
    home = given or Path(os.environ.get("DAGSTER_HOME") or ".dagster_home")
    home = home.expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists():
        settings.write_text("telemetry:\n  enabled: false\n")
    return home
