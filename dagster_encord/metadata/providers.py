"""Metadata providers from settings: what a pipeline's `metadata:` section and
`dagster-encord validate-metadata` both build (sidecars, one mapping file, path regex, merged in
that order)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from dagster_encord.metadata.schema import DeclaredSchema
from dagster_encord.metadata.sources import (
    FromPath,
    MappingFile,
    Metadata,
    MetadataProvider,
    MetadataSources,
    SidecarJson,
)
from dagster_encord.sources.base import ObjectRecord, Source

SidecarMode = Literal["append", "replace", "none"]


@dataclass(frozen=True)
class ProviderSettings:
    """Where metadata comes from; each part is optional."""

    sidecar: SidecarMode = "append"
    sidecar_suffix: str = ".json"
    mapping: str | None = None
    mapping_key_column: str = "key"
    path_regex: str | None = None

    def is_metadata_object(self, key: str) -> bool:
        """Sidecars and the mapping file are metadata: never registered as data."""
        if self.sidecar != "none" and key.endswith(self.sidecar_suffix):
            return True
        return self.mapping is not None and key == self.mapping.lstrip("/")

    def build(
        self,
        source: Source,
        schema: DeclaredSchema | None,
        *,
        known_keys: frozenset[str] | None = None,
    ) -> MetadataSources:
        """The providers, merged in order: sidecar, mapping file, path regex."""
        providers: list[MetadataProvider] = []
        if self.sidecar != "none":
            providers.append(
                SidecarJson(
                    source, naming=self.sidecar, suffix=self.sidecar_suffix, known_keys=known_keys
                )
            )
        if self.mapping:
            providers.append(
                MappingFile(source, self.mapping, key_column=self.mapping_key_column, schema=schema)
            )
        if self.path_regex:
            providers.append(FromPath(self.path_regex, schema))
        return MetadataSources(providers)


class LazyProvider:
    """A provider built on first use, so loading definitions opens no bucket."""

    def __init__(
        self,
        build: Callable[[], MetadataProvider],
        is_metadata_object: Callable[[str], bool] | None = None,
    ) -> None:
        self._build = build
        self._provider: MetadataProvider | None = None
        self._lock = threading.Lock()  # the planner and `collect` call from several threads
        if is_metadata_object is not None:
            self.is_metadata_object = is_metadata_object

    def metadata_for(self, record: ObjectRecord) -> Metadata | None:
        with self._lock:
            if self._provider is None:
                self._provider = self._build()
            provider = self._provider
        return provider.metadata_for(record)
