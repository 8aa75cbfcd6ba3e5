"""Test harness: a bucket on moto, a folder on the Encord emulator, and the package's driver.

`Harness.tick(defs, sensor)` is `PipelineDriver.tick`: the sensor is evaluated, its partitions
applied, and each run request executed in process unless its run key was used (as the daemon).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
import dagster as dg
from encord import EncordUserClient

from dagster_encord.config import RegistrationSection, SensorsSection
from dagster_encord.dagster.driver import PipelineDriver
from dagster_encord.dagster.factory import build_encord_ingestion
from dagster_encord.dagster.naming import PipelineNames
from dagster_encord.emulator import EncordEmulator
from dagster_encord.ledger import ChunkState, Ledger

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

    @property
    def names(self) -> PipelineNames:
        return PipelineNames(self.name)

    def driver(self, defs: dg.Definitions) -> PipelineDriver:
        """The package's daemon-like driver on this instance; cursors persist across calls."""
        driver = PipelineDriver(defs, self.names, self.instance)
        driver.cursors = self.cursors
        return driver

    def wait_for_jobs(self, ledger: Ledger) -> None:
        """Block on each submitted chunk's upload job with the SDK's own long-poll until it
        finishes (the emulator runs a released job in the background)."""
        user = EncordUserClient.create_with_ssh_private_key(
            os.environ[KEY_ENV], domain=self.emulator.domain
        )
        folder = user.get_storage_folder(self.folder_uuid)
        for chunk in ledger.chunks_in_state(ChunkState.SUBMITTED):
            assert chunk.upload_job_id is not None
            folder.add_private_data_to_folder_get_result(uuid.UUID(chunk.upload_job_id))

    def resources(self, defs: dg.Definitions) -> dict[str, Any]:
        return dict(defs.resources or {})

    def materialize_listing(self, defs: dg.Definitions) -> dg.ExecuteInProcessResult:
        job = defs.resolve_implicit_global_asset_job_def()
        return job.execute_in_process(
            instance=self.instance, asset_selection=[self.names.key("bucket_listing")]
        )

    def run_chunk(
        self, defs: dg.Definitions, chunk_id: str, run_key: str | None = None
    ) -> dg.ExecuteInProcessResult:
        job = defs.resolve_job_def(self.names.chunk_job)
        tags = {"dagster/run_key": run_key} if run_key else {}
        return job.execute_in_process(
            instance=self.instance, partition_key=chunk_id, tags=tags, raise_on_error=False
        )

    def chunk_ids(self) -> list[str]:
        return list(self.instance.get_dynamic_partitions(self.names.partitions))

    def evaluate(self, defs: dg.Definitions, sensor: str) -> dg.SensorResult:
        """Evaluate a sensor and apply its partitions and events, launching nothing."""
        result = self.driver(defs).evaluate(sensor)
        assert isinstance(result, dg.SensorResult)
        return result

    def tick(self, defs: dg.Definitions, sensor: str) -> list[dg.ExecuteInProcessResult]:
        """Evaluate and launch the runs a daemon would launch (run keys dedupe)."""
        return self.driver(defs).tick(sensor)
