"""Run a whole pipeline in this process, without the daemon: `dagster-encord run` and the demo.

Once (`run_pipeline(..., once=True)`): runs a previous driver left unfinished are marked failed;
the full listing (`bucket_listing`); a run per open chunk (new, or left by a killed run); the
job-status and retry sensors until nothing is pending; every later section that is configured
(metadata, datasets, project); then every check. Watching (`once=False`): the sensors tick at
their interval, as the daemon would, until interrupted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from dagster_encord.config import PipelineConfig
from dagster_encord.dagster.driver import DriveReport, PipelineDriver
from dagster_encord.dagster.factory import build_encord_ingestion
from dagster_encord.dagster.naming import PipelineNames
from dagster_encord.ledger import Ledger, LedgerCounts
from dagster_encord.pipeline.settings import ledger_of

# Later sections, in order: each is materialized when the pipeline has it.
LATER_ASSETS = ("metadata_schema", "metadata_upserts", "encord_datasets", "encord_project")
POLL_PAUSE_SECONDS = 0.5


@dataclass
class RunSummary:
    """What one `run` did and what the ledger says after it."""

    pipeline: str
    report: DriveReport
    counts: LedgerCounts
    seconds: float
    failed_steps: list[str] = field(default_factory=list)
    timed_out: bool = False
    # Asset name -> the numbers its last materialization reported (datasets, project, ...).
    later: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            not self.failed_steps
            and not self.timed_out
            and self.counts.pending == 0
            and all(self.report.checks.values())
        )


def run_pipeline(
    config: PipelineConfig,
    instance: dg.DagsterInstance,
    *,
    once: bool = True,
    max_seconds: float = 1800.0,
    log_level: str = "WARNING",
    defs: dg.Definitions | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> RunSummary:
    """Drive `config`'s pipeline on `instance` (see the module docstring)."""
    started = time.monotonic()
    defs = defs or build_encord_ingestion(config)
    names = PipelineNames.of(config)
    driver = PipelineDriver(defs, names, instance, log_level=log_level)
    ledger = _ledger(config)
    summary = RunSummary(config.name, DriveReport(), ledger.counts(), 0.0)
    summary.report.dead_runs_marked = driver.mark_dead_runs()
    if summary.report.dead_runs_marked:
        progress(f"marked {summary.report.dead_runs_marked} runs of killed processes failed")
    if once:
        _run_once(driver, ledger, summary, started + max_seconds, progress)
    else:
        _watch(driver, ledger, config, summary, progress)
    summary.report.checks.update(driver.run_checks())
    summary.counts = ledger.counts()
    summary.seconds = time.monotonic() - started
    return summary


def run_in_instance(config: PipelineConfig, **options: Any) -> RunSummary:
    """`run_pipeline` on the instance at DAGSTER_HOME."""
    with dg.DagsterInstance.get() as instance:
        return run_pipeline(config, instance, **options)


def _run_once(
    driver: PipelineDriver,
    ledger: Ledger,
    summary: RunSummary,
    deadline: float,
    progress: Callable[[str], None],
) -> None:
    listing = driver.materialize("bucket_listing")
    if not listing.success:
        summary.failed_steps.append("bucket_listing")
        return
    counts = ledger.counts()
    progress(f"listed {counts.listed} files: {counts.pending} pending")
    report = summary.report
    report.add(driver.resume_open_chunks(ledger))
    while ledger.counts().pending:
        if time.monotonic() > deadline:
            summary.timed_out = True
            return
        report.add(driver.tick("job_status"))
        report.add(driver.tick("retries"))
        report.add(driver.resume_open_chunks(ledger))
        report.ticks += 1
        if ledger.counts().pending:
            time.sleep(POLL_PAUSE_SECONDS)  # a job's progress on the server, not a test's sync
    progress(f"registered {ledger.counts().registered} files in {report.runs} chunk runs")
    _later_sections(driver, summary, progress)


def _later_sections(
    driver: PipelineDriver, summary: RunSummary, progress: Callable[[str], None]
) -> None:
    present: list[str | dg.AssetKey] = [a for a in LATER_ASSETS if driver.has_asset(a)]
    exports = [driver.names.name, "label_exports"]  # one asset per export, after the project
    keys: list[dg.AssetKey] = [
        k for k in driver.defs.resolve_all_asset_keys() if k.path[:2] == exports
    ]
    keys.sort(key=dg.AssetKey.to_user_string)
    present.extend(keys)
    if not present:
        return
    result = driver.materialize(*present)
    # Their checks run with them (e.g. units_have_label_rows); a failed one fails the run.
    summary.report.checks.update(
        {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    )
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        summary.later["/".join(materialization.asset_key.path[1:])] = {
            label: entry.value
            for label, entry in materialization.metadata.items()
            if isinstance(entry.value, int | float) and not isinstance(entry.value, bool)
        }
    if not result.success:
        summary.failed_steps.extend(map(_shown, present))
        return
    progress(f"materialized {', '.join(map(_shown, present))}")


def _shown(asset: str | dg.AssetKey) -> str:
    return "/".join(asset.path[1:]) if isinstance(asset, dg.AssetKey) else asset


def _watch(
    driver: PipelineDriver,
    ledger: Ledger,
    config: PipelineConfig,
    summary: RunSummary,
    progress: Callable[[str], None],
) -> None:
    """Tick like the daemon until Ctrl-C; later sections follow new registrations."""
    report = summary.report
    report.add(driver.resume_open_chunks(ledger))
    try:
        while True:
            registered = ledger.counts().registered
            watcher = "new_objects" if config.events is None else "bucket_events"
            for sensor in (watcher, "job_status", "retries"):
                report.add(driver.tick(sensor))
            report.ticks += 1
            if ledger.counts().registered != registered:
                progress(f"registered {ledger.counts().registered} files")
                _later_sections(driver, summary, progress)
            time.sleep(config.sensors.interval_seconds)
    except KeyboardInterrupt:
        progress("stopped")


def _ledger(config: PipelineConfig) -> Ledger:
    return ledger_of(config)


@dataclass
class ExportOutcome:
    success: bool
    exports: dict[str, dict[str, Any]]  # export name -> its materialization metadata values


def export_in_instance(
    config: PipelineConfig, export_names: list[str], log_level: str = "WARNING"
) -> ExportOutcome:
    """Materialize these label exports (their assets only) on the instance at DAGSTER_HOME."""
    from dagster_encord.dagster.export_assets import export_key

    names = PipelineNames.of(config)
    with dg.DagsterInstance.get() as instance:
        driver = PipelineDriver(
            build_encord_ingestion(config), names, instance, log_level=log_level
        )
        result = driver.materialize(*(export_key(names, name) for name in export_names))
    exports = {
        event.materialization.asset_key.path[-1]: {
            label: entry.value for label, entry in event.materialization.metadata.items()
        }
        for event in result.get_asset_materialization_events()
    }
    return ExportOutcome(result.success, exports)
