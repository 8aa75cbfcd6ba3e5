"""Test harness: a bucket on moto, a folder on the Encord emulator, and a daemon-like tick loop.

`Harness.tick(sensor)` evaluates a sensor with `build_sensor_context`, applies its dynamic
partition requests, and executes each run request in process unless a run with the same run key
exists (what the daemon does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
import dagster as dg

from dagster_encord.config import RegistrationSection, SensorsSection
from dagster_encord.dagster.factory import build_encord_ingestion
from dagster_encord.emulator import EncordEmulator

KEY_ENV = "TEST_DAGSTER_ENCORD_SSH_KEY"


@dataclass
class Harness:
    name: str
    endpoint: str
    bucket: str
    emulator: EncordEmulator
    folder_uuid: str
    instance: dg.DagsterInstance
    ledger_url: str
    options: dict[str, Any] = field(default_factory=dict)
    cursors: dict[str, str | None] = field(default_factory=dict)

    def put(self, files: dict[str, bytes]) -> None:
        s3 = boto3.client("s3", endpoint_url=self.endpoint)
        for key, body in files.items():
            s3.put_object(Bucket=self.bucket, Key=key, Body=body)

    def config(self, **overrides: Any) -> dict[str, Any]:
        """The pipeline's configuration; `overrides` are registration or sensors fields, or
        whole sections (`source={...}`), merged into the defaults."""
        config: dict[str, Any] = {
            "name": self.name,
            "encord": {
                "ssh_private_key_env": KEY_ENV,
                "domain": self.emulator.domain,
                "backoff_factor": 0.01,
            },
            "ledger": {"url": self.ledger_url},
            "source": {"url": f"s3://{self.bucket}", "options": {"endpoint_url": self.endpoint}},
            "registration": {
                "folder": self.folder_uuid,
                "integration": "test-s3",
                "run_wait_seconds": 30.0,
            },
            "sensors": {},
        }
        for name, value in {**self.options, **overrides}.items():
            if name in RegistrationSection.model_fields:
                config["registration"][name] = value
            elif name in SensorsSection.model_fields:
                config["sensors"][name] = value
            elif isinstance(value, dict) and isinstance(config.get(name), dict):
                config[name] = {**config[name], **value}
            else:
                config[name] = value
        return config

    def defs(
        self,
        *,
        metadata_provider: Any = None,
        metadata_schema: Any = None,
        clock: Callable[[], datetime] | None = None,
        **overrides: Any,
    ) -> dg.Definitions:
        return build_encord_ingestion(
            self.config(**overrides),
            metadata_provider=metadata_provider,
            metadata_schema=metadata_schema,
            clock=clock,
        )

    def resources(self, defs: dg.Definitions) -> dict[str, Any]:
        return dict(defs.resources or {})

    def materialize_listing(self, defs: dg.Definitions) -> dg.ExecuteInProcessResult:
        job = defs.resolve_implicit_global_asset_job_def()
        return job.execute_in_process(
            instance=self.instance,
            asset_selection=[dg.AssetKey([self.name, "bucket_listing"])],
        )

    def run_chunk(
        self, defs: dg.Definitions, chunk_id: str, run_key: str | None = None
    ) -> dg.ExecuteInProcessResult:
        job = defs.resolve_job_def(f"{self.name}__register_chunk")
        tags = {"dagster/run_key": run_key} if run_key else {}
        return job.execute_in_process(
            instance=self.instance, partition_key=chunk_id, tags=tags, raise_on_error=False
        )

    def chunk_ids(self) -> list[str]:
        return list(self.instance.get_dynamic_partitions(f"{self.name}__chunks"))

    def evaluate(self, defs: dg.Definitions, sensor: str) -> dg.SensorResult:
        name = f"{self.name}__{sensor}"
        sensor_def = defs.resolve_sensor_def(name)
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursors.get(name),
            resources=self.resources(defs),
            sensor_name=name,
        )
        result = sensor_def(context)
        assert isinstance(result, dg.SensorResult)
        self.cursors[name] = result.cursor
        for request in result.dynamic_partitions_requests or ():
            assert isinstance(request, dg.AddDynamicPartitionsRequest)
            self.instance.add_dynamic_partitions(
                request.partitions_def_name, request.partition_keys
            )
        return result

    def tick(self, defs: dg.Definitions, sensor: str) -> list[dg.ExecuteInProcessResult]:
        """Evaluate and launch the runs a daemon would launch (run keys dedupe)."""
        result = self.evaluate(defs, sensor)
        for event in result.asset_events or ():
            self.instance.report_runless_asset_event(event)
        launched = []
        for request in result.run_requests or ():
            if request.run_key and self.instance.get_runs(
                filters=dg.RunsFilter(tags={"dagster/run_key": request.run_key})
            ):
                continue
            assert request.partition_key is not None
            launched.append(self.run_chunk(defs, request.partition_key, request.run_key))
        return launched
