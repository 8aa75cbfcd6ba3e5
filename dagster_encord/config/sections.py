"""The registration sections: `encord`, `ledger`, `source`, `registration`, `metadata`,
`sensors`. Secrets only as environment variable names (`*_env`).
"""

from __future__ import annotations

import os
import re
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from dagster_encord.config.base import (
    Section,
    as_value_error,
    bucket_url,
    env_var_name,
    no_secret_options,
    no_secret_url,
)
from dagster_encord.encord_client.client import DEFAULT_DOMAIN
from dagster_encord.errors import ConfigError
from dagster_encord.planner.config import PlannerConfig


class EncordSection(Section):
    """Which Encord to talk to. The key or token is read from the named environment variable."""

    _minimums: ClassVar[dict[str, tuple[float, bool]]] = {
        "max_retries": (0, True),
        "backoff_factor": (0, True),
        "connect_timeout": (1, True),
        "read_timeout": (1, True),
    }

    ssh_private_key_env: str | None = Field(
        default=None,
        description="Name of the environment variable holding the private ed25519 key (PEM).",
    )
    bearer_token_env: str | None = Field(
        default=None, description="Name of the environment variable holding a bearer token."
    )
    domain: str = Field(default=DEFAULT_DOMAIN, description="Encord API origin.")
    max_retries: int = Field(default=3, description="SDK retries of idempotent requests.")
    backoff_factor: float = Field(default=1.5, description="SDK retry backoff (seconds).")
    connect_timeout: int = Field(default=30, description="Seconds to connect.")
    read_timeout: int = Field(default=120, description="Seconds to read one response.")
    resource_key: str = Field(default="encord", description="Dagster resource key.")

    @model_validator(mode="after")
    def _one_credential(self) -> EncordSection:
        if self.ssh_private_key_env and self.bearer_token_env:
            raise ValueError("set ssh_private_key_env or bearer_token_env, not both")
        if not (self.ssh_private_key_env or self.bearer_token_env):
            raise ValueError(
                "set ssh_private_key_env (or bearer_token_env) to the NAME of the environment "
                "variable that holds the key"
            )
        return self

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        return no_secret_url(value, "the domain takes no credentials")

    @field_validator("ssh_private_key_env", "bearer_token_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        return env_var_name(value)


class LedgerSection(Section):
    """Where the ledger lives. Default: SQLite under DAGSTER_HOME."""

    url_env: str | None = Field(
        default=None,
        description="Name of the environment variable holding the SQLAlchemy URL (use this "
        "when the URL has a password).",
    )
    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL without a password, e.g. postgresql://host/db or "
        "sqlite:////path/ledger.sqlite.",
    )
    resource_key: str = Field(default="ledger", description="Dagster resource key.")

    @model_validator(mode="after")
    def _no_password(self) -> LedgerSection:
        if self.url and self.url_env:
            raise ValueError("set url or url_env, not both")
        return self

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return no_secret_url(value, "put the URL in an environment variable and set url_env")

    def resolved_url(self) -> str | None:
        """The URL, reading `url_env` now (outside Dagster; resources use `dg.EnvVar`)."""
        if self.url_env is None:
            return self.url
        if not os.environ.get(self.url_env):
            raise ConfigError(
                f"ledger.url_env: environment variable {self.url_env} is not set; export the "
                "ledger's SQLAlchemy URL in it"
            )
        return os.environ[self.url_env]

    @field_validator("url_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        return env_var_name(value)


class SourceSection(Section):
    """The bucket or folder to register: s3://, gs://, az://, https://<account>.blob..., file://."""

    _minimums: ClassVar[dict[str, tuple[float, bool]]] = {"page_size": (1, True)}

    url: str = Field(description="Bucket URL, e.g. s3://bucket, gs://bucket, az://account/c.")
    prefix: str = Field(default="", description="List only keys under this prefix.")
    include: list[str] = Field(default_factory=list, description="Globs a key must match.")
    exclude: list[str] = Field(default_factory=list, description="Globs that drop a key.")
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Provider options (endpoint_url, region, profile, role_arn, url_style, ...). "
        "Credentials only as <option>_env: VARIABLE_NAME, e.g. account_key_env.",
    )
    page_size: int = Field(default=1000, description="Keys per listing page.")

    _url = field_validator("url")(bucket_url)
    _options = field_validator("options")(no_secret_options)


class RegistrationSection(Section):
    """Which Encord folder the files go to, and how they are planned and retried."""

    _minimums: ClassVar[dict[str, tuple[float, bool]]] = {
        "max_attempts": (1, True),
        "poll_budget_seconds": (0, False),
        "run_wait_seconds": (0, True),
        "partition_batch_size": (1, True),
    }

    folder: str = Field(description="Encord storage folder: uuid or exact title.")
    integration: str = Field(description="Encord cloud integration: uuid (no lookup) or title.")
    planner: dict[str, Any] = Field(
        default_factory=dict,
        description="Planner settings: budget per lane, groups, extensions, packing, "
        "title_template, quiet_period_minutes (see README: Manifests and the ledger).",
    )
    max_attempts: int = Field(default=5, description="Attempts before quarantine.")
    manifest_url: str | None = Field(
        default=None,
        description="Where manifests are written (default $DAGSTER_HOME/encord_manifests).",
    )

    @field_validator("manifest_url")
    @classmethod
    def _manifest_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return no_secret_url(value, "give credentials through the source's *_env options")

    pool: str | None = Field(
        default=None, description="Dagster pool of job submissions (encord-folder-<folder>)."
    )
    poll_budget_seconds: float = Field(
        default=20.0, description="Seconds a job-status tick may spend polling."
    )
    run_wait_seconds: float = Field(
        default=600.0, description="Seconds a chunk run waits for its job."
    )
    partition_batch_size: int = Field(
        default=500, description="Chunk partitions added per storage call."
    )

    @field_validator("planner")
    @classmethod
    def _planner(cls, value: dict[str, Any]) -> dict[str, Any]:
        planner = as_value_error(PlannerConfig.from_mapping, value)
        if planner.format != "json":
            raise ValueError(
                f"format {planner.format!r} cannot be POSTed by the SDK; use format: json "
                "(CSV manifests are for the Encord web app: dagster-encord plan --format csv)"
            )
        return value

    def planner_config(self) -> PlannerConfig:
        return PlannerConfig.from_mapping(self.planner)


class MetadataSection(Section):
    """Custom metadata (clientMetadata): where it comes from and how it is upserted."""

    schema_file: str | None = Field(
        default=None,
        alias="schema",
        description="Declared metadata schema (YAML), relative to this file. With it, values "
        "are validated and the metadata_schema/metadata_upserts assets join the pipeline.",
    )
    sidecar: Literal["append", "replace", "none"] = Field(
        default="append", description="Sidecar JSON: a.jpg.json (append), a.json, or none."
    )
    sidecar_suffix: str = Field(default=".json", description="Sidecar suffix.")
    mapping: str | None = Field(
        default=None, description="Key of one CSV, JSONL or Parquet mapping file in the source."
    )
    mapping_key_column: str = Field(
        default="key", description="Mapping column holding the object key or URL."
    )
    path_regex: str | None = Field(
        default=None, description="Regex with named groups on the key; each group is a field."
    )

    @field_validator("path_regex")
    @classmethod
    def _path_regex(cls, value: str | None) -> str | None:
        if value is not None:
            from dagster_encord.metadata.sources import FromPath

            try:
                as_value_error(FromPath, value)
            except re.error as error:
                raise ValueError(f"not a valid regular expression ({error})") from None
        return value

    mode: Literal["patch", "reregister"] = Field(
        default="patch",
        description="patch: bulk patches that merge keys; reregister: overwrite by "
        "re-registering with upsert_metadata.",
    )


class SensorsSection(Section):
    """The pipeline's sensors (new objects, job status, retries)."""

    _minimums: ClassVar[dict[str, tuple[float, bool]]] = {
        "interval_seconds": (1, True),
        "heal_after_seconds": (0, True),
        "stale_run_seconds": (0, True),
    }

    running: bool = Field(default=False, description="Sensors start running when loaded.")
    interval_seconds: int = Field(default=30, description="Minimum seconds between ticks.")
    heal_after_seconds: float = Field(
        default=60.0, description="A chunk without a live run is relaunched after this."
    )
    stale_run_seconds: float = Field(
        default=3600.0,
        description="A run 'started' this long ago whose chunk is unsubmitted is taken for dead "
        "(where nothing else can tell a dead run).",
    )
