"""`IngestionSettings`: a pipeline's configuration as its steps use it (from `PipelineConfig`).

The model holds what a user writes; this adds what is derived from it once (the planner config,
the metadata provider and schema, the planner's metadata hooks). No Dagster here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagster_encord.config import PipelineConfig
from dagster_encord.config.exports import inside_source
from dagster_encord.credentials import redact_url, resolve_env_options
from dagster_encord.errors import ConfigError
from dagster_encord.planner import PlannerConfig
from dagster_encord.planner.plan import GroupMetadataFor, MetadataFor
from dagster_encord.sources import ObjectRecord, Source, open_source

if TYPE_CHECKING:
    from dagster_encord.ledger import Ledger
    from dagster_encord.metadata.schema import DeclaredSchema
    from dagster_encord.metadata.sources import MetadataProvider


@dataclass(frozen=True)
class IngestionSettings:
    """The configuration plus what the steps derive from it."""

    config: PipelineConfig
    planner: PlannerConfig
    metadata_provider: MetadataProvider | None = None
    metadata_schema: DeclaredSchema | None = None

    @classmethod
    def from_config(
        cls,
        config: PipelineConfig,
        *,
        metadata_provider: MetadataProvider | None = None,
        metadata_schema: DeclaredSchema | None = None,
    ) -> IngestionSettings:
        """`metadata_provider`/`metadata_schema` (Python only) replace the `metadata:` section's."""
        section = config.metadata
        if metadata_schema is None and section is not None and section.schema_file:
            from dagster_encord.metadata.schema import load_schema

            schema_path = Path(section.schema_file)
            if not schema_path.is_file():
                raise ConfigError(
                    f"pipeline {config.name!r}: metadata.schema: file {schema_path} does not "
                    "exist; give a path relative to the YAML file or an absolute one"
                )
            metadata_schema = load_schema(schema_path)
        if metadata_provider is None and section is not None:
            metadata_provider = _section_provider(config, metadata_schema)
        if metadata_schema is not None and metadata_provider is None:
            raise ConfigError(
                f"pipeline {config.name!r}: a metadata schema is set but no metadata source; "
                "add a metadata: section (sidecar, mapping, path_regex) or pass metadata_provider"
            )
        if config.datasets:
            from dagster_encord.annotation.datasets import check_rules

            check_rules(
                config.datasets,
                metadata_schema,
                has_metadata=metadata_provider is not None,
                pipeline=config.name,
            )
        return cls(
            config=config,
            planner=config.registration.planner_config(),
            metadata_provider=metadata_provider,
            metadata_schema=metadata_schema,
        )

    # --- the configuration, as the steps read it -----------------------------------------------

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def source_url(self) -> str:
        return self.config.source.url

    @property
    def display_url(self) -> str:
        """The source URL as it may be shown: descriptions, metadata, the ledger."""
        return redact_url(self.config.source.url)

    @property
    def folder(self) -> str:
        return self.config.registration.folder

    @property
    def integration(self) -> str:
        return self.config.registration.integration

    @property
    def prefix(self) -> str:
        return self.config.source.prefix

    @property
    def include(self) -> tuple[str, ...]:
        return tuple(self.config.source.include)

    @property
    def exclude(self) -> tuple[str, ...]:
        source = self.config.source
        exports = [export.destination for export in self.config.exports]
        return (*source.exclude, *inside_source(source.url, source.prefix, exports))

    @property
    def page_size(self) -> int:
        return self.config.source.page_size

    @property
    def manifest_url(self) -> str | None:
        return self.config.registration.manifest_url

    @property
    def max_attempts(self) -> int:
        return self.config.registration.max_attempts

    @property
    def run_wait_seconds(self) -> float:
        return self.config.registration.run_wait_seconds

    @property
    def poll_budget_seconds(self) -> float:
        return self.config.registration.poll_budget_seconds

    @property
    def pool(self) -> str:
        return self.config.registration.pool or f"encord-folder-{self.folder}"

    # --- derived ---------------------------------------------------------------------------------

    def source_options(self) -> dict[str, Any]:
        """Provider options with `<name>_env` read from the environment (at run time only)."""
        return resolve_env_options(self.config.source.options, "source.options")

    def open_source(self) -> Source:
        return open_source(self.source_url, **self.source_options())

    def list_pages(self, source: Source) -> Iterable[list[ObjectRecord]]:
        return source.list_pages(
            self.prefix, include=self.include, exclude=self.exclude, page_size=self.page_size
        )

    @cached_property
    def metadata_hooks(self) -> _MetadataHooks:
        return _metadata_hooks(self.metadata_provider, self.metadata_schema)

    @property
    def metadata_for(self) -> MetadataFor | None:
        return self.metadata_hooks.metadata_for

    @property
    def group_metadata_for(self) -> GroupMetadataFor | None:
        return self.metadata_hooks.group_metadata_for

    @property
    def is_metadata_object(self) -> Callable[[str], bool] | None:
        return self.metadata_hooks.is_metadata_object


def ledger_of(config: PipelineConfig, *, create_tables: bool = True) -> Ledger:
    """The pipeline's ledger outside Dagster (`run`, `status`, `plan`): `url_env` read now."""
    from dagster_encord.ledger import Ledger

    url = config.ledger.resolved_url()
    kwargs: dict[str, Any] = {"max_attempts": config.registration.max_attempts}
    if url:
        return Ledger(url, pipeline=config.name, create_tables=create_tables, **kwargs)
    return Ledger.for_dagster_home(config.name, create_tables=create_tables, **kwargs)


@dataclass(frozen=True)
class _MetadataHooks:
    metadata_for: MetadataFor | None = None
    group_metadata_for: GroupMetadataFor | None = None
    # Keys the provider reads (sidecars, a mapping file): listed, never registered.
    is_metadata_object: Callable[[str], bool] | None = None


def _section_provider(
    config: PipelineConfig, schema: DeclaredSchema | None
) -> MetadataProvider | None:
    """The `metadata:` section's providers, opened on first use."""
    from dagster_encord.metadata.providers import LazyProvider, ProviderSettings

    section = config.metadata
    assert section is not None
    provider_settings = ProviderSettings(
        sidecar=section.sidecar,
        sidecar_suffix=section.sidecar_suffix,
        mapping=section.mapping,
        mapping_key_column=section.mapping_key_column,
        path_regex=section.path_regex,
    )
    if provider_settings.sidecar == "none" and not (section.mapping or section.path_regex):
        return None
    if section.path_regex:
        from dagster_encord.metadata.sources import FromPath

        FromPath(section.path_regex)  # a pattern without named groups fails at load, not later

    def build() -> MetadataProvider:
        source = open_source(
            config.source.url,
            **resolve_env_options(config.source.options, "source.options"),
        )
        return provider_settings.build(source, schema)

    return LazyProvider(build, provider_settings.is_metadata_object)


def _metadata_hooks(
    provider: MetadataProvider | None, schema: DeclaredSchema | None
) -> _MetadataHooks:
    """Planner hooks that put the provider's metadata in the manifests (validated if a schema
    is given), so registering a file needs no metadata call afterwards."""
    if provider is None:
        return _MetadataHooks()
    from dagster_encord.metadata.sources import group_metadata, metadata_object_filter

    is_metadata_object = metadata_object_filter(provider)
    if schema is None:

        def group_for(group: str, members: Sequence[ObjectRecord]) -> Mapping[str, Any] | None:
            shared, _per_frame = group_metadata([provider.metadata_for(m) for m in members])
            return shared or None

        return _MetadataHooks(provider.metadata_for, group_for, is_metadata_object)
    from dagster_encord.metadata.planning import (
        validated_group_metadata_for,
        validated_metadata_for,
    )
    from dagster_encord.metadata.validate import MetadataValidator

    validator = MetadataValidator(schema)
    return _MetadataHooks(
        validated_metadata_for(provider, validator),
        validated_group_metadata_for(provider, validator),
        is_metadata_object,
    )
