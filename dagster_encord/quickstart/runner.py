"""Run a pipeline once without the daemon: what `./scripts/demo --headless` and the benchmark do.

It evaluates the sensors the way the daemon would (`build_sensor_context`), adds the requested
partitions, executes each requested run in process unless its run key was used, and ticks the
job-status sensor until no job is left running.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg


@dataclass
class RunOnceReport:
    runs: int = 0
    failed_runs: int = 0
    ticks: int = 0
    checks: dict[str, bool] = field(default_factory=dict)


class SensorDriver:
    """Daemon-like sensor evaluation for one pipeline's definitions and a persistent instance."""

    def __init__(
        self,
        defs: dg.Definitions,
        pipeline: str,
        instance: dg.DagsterInstance,
        *,
        log_level: str = "INFO",
    ) -> None:
        self.defs = defs
        self.pipeline = pipeline
        self.instance = instance
        self.cursors: dict[str, str | None] = {}
        self.run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}

    def tick(self, sensor: str) -> tuple[int, int]:
        """Evaluate `sensor`, launch its runs; return (runs launched, runs failed)."""
        name = f"{self.pipeline}__{sensor}"
        sensor_def = self.defs.resolve_sensor_def(name)
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursors.get(name),
            resources=dict(self.defs.resources or {}),
            sensor_name=name,
        )
        result = sensor_def(context)
        if not isinstance(result, dg.SensorResult):
            return 0, 0
        self.cursors[name] = result.cursor
        for partitions in result.dynamic_partitions_requests or ():
            if isinstance(partitions, dg.AddDynamicPartitionsRequest):
                self.instance.add_dynamic_partitions(
                    partitions.partitions_def_name, partitions.partition_keys
                )
        for event in result.asset_events or ():
            if isinstance(event, dg.AssetMaterialization):
                self.instance.report_runless_asset_event(event)
        launched = failed = 0
        job = self.defs.resolve_job_def(f"{self.pipeline}__register_chunk")
        for request in result.run_requests or ():
            if request.run_key and self.instance.get_runs(
                filters=dg.RunsFilter(tags={"dagster/run_key": request.run_key}), limit=1
            ):
                continue
            outcome = job.execute_in_process(
                instance=self.instance,
                partition_key=request.partition_key,
                run_config=self.run_config,
                tags={**request.tags, "dagster/run_key": request.run_key or ""},
                raise_on_error=False,
            )
            launched += 1
            failed += 0 if outcome.success else 1
        return launched, failed


def run_once(
    defs: dg.Definitions,
    pipeline: str,
    instance: dg.DagsterInstance,
    *,
    pending: Callable[[], int],
    max_seconds: float = 300.0,
    run_checks: bool = True,
    log_level: str = "INFO",
) -> RunOnceReport:
    """New objects -> runs -> job status until `pending()` is 0 (or `max_seconds` pass)."""
    driver = SensorDriver(defs, pipeline, instance, log_level=log_level)
    report = RunOnceReport()
    launched, failed = driver.tick("new_objects")
    report.runs += launched
    report.failed_runs += failed
    deadline = time.monotonic() + max_seconds
    while pending() and time.monotonic() < deadline:
        launched, failed = driver.tick("job_status")
        report.ticks += 1
        report.runs += launched
        report.failed_runs += failed
        if pending():
            time.sleep(0.5)
    if run_checks:
        result = defs.resolve_job_def(f"{pipeline}__checks").execute_in_process(
            instance=instance, run_config=driver.run_config, raise_on_error=False
        )
        for evaluation in result.get_asset_check_evaluations():
            report.checks[evaluation.check_name] = evaluation.passed
    return report
