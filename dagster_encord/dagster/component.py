"""`EncordIngestionComponent`: the same factory users call, declared in a `defs.yaml`.

```yaml
type: dagster_encord.dagster.EncordIngestionComponent
attributes:
  name: cams
  source: s3://my-bucket/cams
  folder: landing            # uuid or exact title
  integration: my-s3         # uuid or exact title
  encord:
    ssh_private_key_env: ENCORD_SSH_KEY   # the variable's NAME; the key never enters YAML
  planner:
    budget: {image: 1000}
```
Credentials are given as environment variable names and become `dg.EnvVar`s.
"""

# No `from __future__ import annotations`: dagster resolves the model's annotations at runtime.
from typing import Any

import dagster as dg
from pydantic import BaseModel, Field

from dagster_encord.dagster.factory import build_encord_ingestion
from dagster_encord.dagster.resources import EncordResource, LedgerResource
from dagster_encord.encord_client.client import DEFAULT_DOMAIN
from dagster_encord.errors import EncordAuthError


class EncordConnection(BaseModel):
    """Which Encord to talk to; secrets by environment variable name only."""

    domain: str = DEFAULT_DOMAIN
    ssh_private_key_env: str | None = None
    bearer_token_env: str | None = None
    max_retries: int = 3

    def resource(self) -> EncordResource:
        if self.ssh_private_key_env:
            return EncordResource(
                ssh_private_key=dg.EnvVar(self.ssh_private_key_env),
                domain=self.domain,
                max_retries=self.max_retries,
            )
        if self.bearer_token_env:
            return EncordResource(
                bearer_token=dg.EnvVar(self.bearer_token_env),
                domain=self.domain,
                max_retries=self.max_retries,
            )
        raise EncordAuthError(
            "EncordIngestionComponent: set encord.ssh_private_key_env (or bearer_token_env) to "
            "the NAME of the environment variable holding the key"
        )


class EncordIngestionComponent(dg.Component, dg.Model, dg.Resolvable):
    """One bucket -> Encord folder pipeline (assets, sensors, checks) from YAML."""

    name: str = Field(description="Pipeline name: asset key prefix and group.")
    source: str = Field(description="Bucket URL: s3://, gs://, az://, file://")
    folder: str = Field(description="Encord folder uuid or exact title.")
    integration: str = Field(description="Encord cloud integration uuid or exact title.")
    source_options: dict[str, Any] = Field(default_factory=dict)
    prefix: str = ""
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    planner: dict[str, Any] = Field(default_factory=dict)
    manifest_url: str | None = None
    max_attempts: int = 5
    poll_budget_seconds: float = 20.0
    run_wait_seconds: float = 600.0
    sensor_interval_seconds: int = 30
    sensors_running: bool = False
    pool: str | None = None
    encord: EncordConnection = Field(default_factory=EncordConnection)
    ledger_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default SQLite under DAGSTER_HOME."
    )
    encord_resource_key: str = "encord"
    ledger_resource_key: str = "ledger"

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return build_encord_ingestion(
            self.name,
            source=self.source,
            folder=self.folder,
            integration=self.integration,
            source_options=self.source_options,
            prefix=self.prefix,
            include=self.include,
            exclude=self.exclude,
            planner=self.planner,
            manifest_url=self.manifest_url,
            max_attempts=self.max_attempts,
            poll_budget_seconds=self.poll_budget_seconds,
            run_wait_seconds=self.run_wait_seconds,
            sensor_interval_seconds=self.sensor_interval_seconds,
            pool=self.pool,
            encord=self.encord.resource(),
            ledger=LedgerResource(url=self.ledger_url),
            encord_resource_key=self.encord_resource_key,
            ledger_resource_key=self.ledger_resource_key,
            default_sensor_status=(
                dg.DefaultSensorStatus.RUNNING
                if self.sensors_running
                else dg.DefaultSensorStatus.STOPPED
            ),
        )
