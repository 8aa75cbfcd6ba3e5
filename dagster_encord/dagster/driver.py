"""`PipelineDriver`: what the daemon does for one pipeline, in this process, without the daemon.

`dagster-encord run`, the headless demo, the benchmarks and the tests all drive a pipeline with
it: a sensor is evaluated with `build_sensor_context`, its dynamic partitions and asset events are
applied, and each run request is executed in process unless its run key was used. Runs it starts
carry this process's id, so a later driver can tell a run whose process was killed (still
`STARTED` in the instance) and mark it failed at once instead of waiting for a staleness rule.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import dagster as dg

from dagster_encord.dagster.naming import PipelineNames
from dagster_encord.ledger import OPEN_CHUNK_STATES, Ledger

PID_TAG = "dagster-encord/driver-pid"
HOST_TAG = "dagster-encord/driver-host"
_UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


@dataclass
class DriveReport:
    """What a driver did: runs launched and failed, sensor ticks, check results."""

    runs: int = 0
    failed_runs: int = 0
    ticks: int = 0
    dead_runs_marked: int = 0
    checks: dict[str, bool] = field(default_factory=dict)

    def add(self, results: Sequence[dg.ExecuteInProcessResult]) -> None:
        self.runs += len(results)
        self.failed_runs += sum(1 for result in results if not result.success)


class PipelineDriver:
    """Daemon-like evaluation of one pipeline's sensors and jobs on a persistent instance."""

    def __init__(
        self,
        defs: dg.Definitions,
        names: PipelineNames,
        instance: dg.DagsterInstance,
        *,
        log_level: str = "INFO",
    ) -> None:
        self.defs = defs
        self.names = names
        self.instance = instance
        self.cursors: dict[str, str | None] = {}
        self.run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
        self.tags = {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}

    # --- sensors ---------------------------------------------------------------------------------

    def evaluate(self, sensor: str) -> dg.SensorResult | None:
        """Evaluate one sensor; apply its partitions, asset events and cursor (no runs)."""
        name = self.names.sensor(sensor)
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursors.get(name),
            resources=dict(self.defs.resources or {}),
            sensor_name=name,
        )
        result = self.defs.resolve_sensor_def(name)(context)
        if not isinstance(result, dg.SensorResult):
            return None
        self.cursors[name] = result.cursor
        for partitions in result.dynamic_partitions_requests or ():
            if isinstance(partitions, dg.AddDynamicPartitionsRequest):
                self.instance.add_dynamic_partitions(
                    partitions.partitions_def_name, partitions.partition_keys
                )
        for event in result.asset_events or ():
            if isinstance(event, dg.AssetMaterialization):
                self.instance.report_runless_asset_event(event)
        return result

    def tick(self, sensor: str) -> list[dg.ExecuteInProcessResult]:
        """Evaluate `sensor` and execute the runs it requests, as the daemon would."""
        result = self.evaluate(sensor)
        if result is None:
            return []
        launched = []
        for request in result.run_requests or ():
            if isinstance(request, dg.RunRequest) and request.partition_key is not None:
                outcome = self.run_chunk(request.partition_key, request.run_key, request.tags)
                if outcome is not None:
                    launched.append(outcome)
        return launched

    # --- runs ------------------------------------------------------------------------------------

    def run_chunk(
        self, chunk_id: str, run_key: str | None = None, tags: Mapping[str, str] | None = None
    ) -> dg.ExecuteInProcessResult | None:
        """One chunk's run, unless a run with `run_key` exists already (None then)."""
        if run_key and self._runs(tags={"dagster/run_key": run_key}):
            return None
        job = self.defs.resolve_job_def(self.names.chunk_job)
        return job.execute_in_process(
            instance=self.instance,
            partition_key=chunk_id,
            run_config=self.run_config,
            tags={**(tags or {}), **self.tags, **({"dagster/run_key": run_key} if run_key else {})},
            raise_on_error=False,
        )

    def materialize(self, *assets: str | dg.AssetKey) -> dg.ExecuteInProcessResult:
        """Materialize unpartitioned assets of this pipeline (e.g. `bucket_listing`)."""
        job = self.defs.resolve_implicit_global_asset_job_def()
        return job.execute_in_process(
            instance=self.instance,
            asset_selection=[
                a if isinstance(a, dg.AssetKey) else self.names.key(a) for a in assets
            ],
            run_config=self.run_config,
            tags=self.tags,
            raise_on_error=False,
        )

    def has_asset(self, asset: str) -> bool:
        return self.names.key(asset) in self.defs.resolve_all_asset_keys()

    def run_checks(self) -> dict[str, bool]:
        """Every asset check of the pipeline (the checks job); check name -> passed."""
        result = self.defs.resolve_job_def(self.names.checks_job).execute_in_process(
            instance=self.instance, run_config=self.run_config, tags=self.tags, raise_on_error=False
        )
        return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}

    # --- dead runs and open chunks ---------------------------------------------------------------

    def mark_dead_runs(self) -> int:
        """Mark failed the unfinished runs that a driver on this host started in a process that
        is gone (killed): nothing else will ever end them."""
        host = socket.gethostname()
        marked = 0
        for run in self.instance.get_runs(filters=dg.RunsFilter(statuses=_UNFINISHED)):
            if run.tags.get(HOST_TAG) != host or PID_TAG not in run.tags:
                continue
            if not run.job_name.startswith(f"{self.names.name}__") and run.job_name != (
                "__ASSET_JOB"
            ):
                continue
            if _alive(int(run.tags[PID_TAG])):
                continue
            self.instance.report_run_failed(
                run, message=f"its process {run.tags[PID_TAG]} is gone (killed); marked failed"
            )
            marked += 1
        return marked

    def resume_open_chunks(self, ledger: Ledger) -> list[dg.ExecuteInProcessResult]:
        """A run for every chunk left planned or submitting with no unfinished run (its run was
        killed, or never started). Resubmitting is safe: `skip_duplicate_urls`."""
        chunk_ids = [c.chunk_id for c in ledger.chunks_in_state(*OPEN_CHUNK_STATES)]
        if chunk_ids:
            self.instance.add_dynamic_partitions(self.names.partitions, chunk_ids)
        results = []
        for chunk_id in chunk_ids:
            runs = self._runs(tags={"dagster/partition": chunk_id}, job_name=self.names.chunk_job)
            if any(run.status in _UNFINISHED for run in runs):
                continue
            run_key = chunk_id if not runs else f"{chunk_id}#{len(runs) + 1}"
            outcome = self.run_chunk(chunk_id, run_key, {"encord/chunk": chunk_id})
            if outcome is not None:
                results.append(outcome)
        return results

    def _runs(self, *, tags: dict[str, str], job_name: str | None = None) -> list[dg.DagsterRun]:
        return list(self.instance.get_runs(filters=dg.RunsFilter(tags=tags, job_name=job_name)))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    return True
