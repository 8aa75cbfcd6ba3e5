"""Names and small helpers shared by the factory, sensors and checks of one pipeline."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import dagster as dg

from dagster_encord.config import PipelineConfig
from dagster_encord.dagster.resources import EncordResource, LedgerResource
from dagster_encord.encord_client.client import EncordClient
from dagster_encord.ledger import Ledger
from dagster_encord.pipeline import IngestionSettings


@dataclass(frozen=True)
class PipelineNames:
    """Asset keys, job, sensor and partition names of one pipeline, and resource lookups."""

    name: str
    encord_key: str = "encord"
    ledger_key: str = "ledger"
    partition_batch_size: int = 500

    @classmethod
    def of(cls, config: PipelineConfig) -> PipelineNames:
        return cls(
            config.name,
            config.encord.resource_key,
            config.ledger.resource_key,
            config.registration.partition_batch_size,
        )

    def key(self, asset: str) -> dg.AssetKey:
        return dg.AssetKey([self.name, asset])

    @property
    def partitions(self) -> str:
        return f"{self.name}__chunks"

    @property
    def chunk_job(self) -> str:
        return f"{self.name}__register_chunk"

    @property
    def checks_job(self) -> str:
        return f"{self.name}__checks"

    def sensor(self, kind: str) -> str:
        return f"{self.name}__{kind}"

    def ledger(self, resources: Any, settings: IngestionSettings) -> Ledger:
        resource: LedgerResource = getattr(resources, self.ledger_key)
        return resource.get_ledger(self.name, max_attempts=settings.max_attempts)

    def client(
        self,
        resources: Any,
        *,
        max_retries: int | None = None,
        timeout_seconds: int | None = None,
    ) -> EncordClient:
        resource: EncordResource = getattr(resources, self.encord_key)
        return resource.get_client(max_retries=max_retries, timeout_seconds=timeout_seconds)

    def default_manifest_root(self, instance: dg.DagsterInstance) -> str:
        """`file://` folder for manifests when no manifest_url is set: under DAGSTER_HOME."""
        home = os.environ.get("DAGSTER_HOME") or instance.root_directory
        root = Path(home) / "encord_manifests"
        root.mkdir(parents=True, exist_ok=True)
        return root.resolve().as_uri()


def add_partitions(
    instance: dg.DagsterInstance, partitions_def_name: str, keys: Sequence[str], batch_size: int
) -> None:
    """Add dynamic partitions in batches (one storage call per batch, existing keys skipped)."""
    for start in range(0, len(keys), batch_size):
        instance.add_dynamic_partitions(partitions_def_name, list(keys[start : start + batch_size]))


def partition_requests(
    partitions_def_name: str, keys: Sequence[str], batch_size: int
) -> list[dg.AddDynamicPartitionsRequest]:
    """The same batching for a sensor result."""
    return [
        dg.AddDynamicPartitionsRequest(partitions_def_name, list(keys[start : start + batch_size]))
        for start in range(0, len(keys), batch_size)
    ]


def folder_link(domain: str, folder_uuid: str) -> str:
    """A link a person can open: the Encord web app's folder page on Encord's API hosts, else
    the emulator's read-only view (an API URL would answer 401 in a browser)."""
    return _link(domain, f"index/folders/{folder_uuid}", f"folders/{folder_uuid}")


def dataset_link(domain: str, dataset_hash: str) -> str:
    """A link to the dataset, as `folder_link` does for folders."""
    return _link(domain, f"datasets/view/{dataset_hash}", f"datasets/{dataset_hash}")


def project_link(domain: str, project_hash: str) -> str:
    """A link to the project, as `folder_link` does for folders."""
    return _link(domain, f"projects/view/{project_hash}/summary", f"projects/{project_hash}")


def _link(domain: str, app_path: str, view_path: str) -> str:
    host = urlparse(domain).hostname or ""
    if host.startswith("api.") and host.endswith("encord.com"):
        return f"https://app.{host[len('api.') :]}/{app_path}"
    return f"{domain.rstrip('/')}/view/{view_path}"
