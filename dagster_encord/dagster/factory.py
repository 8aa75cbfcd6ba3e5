"""`build_encord_ingestion`: the Definitions of one bucket -> Encord folder pipeline.

Assets (group = the pipeline name, keys prefixed with it): `bucket_listing` (unpartitioned: full
listing, diff, plan, partitions added in batches) and, partitioned by chunk, `manifest_chunks`,
`upload_jobs` (in a pool per folder) and `registered_files`. Assets, sensors and checks are
built in `assets.py`, `sensors.py` and `checks.py`; this module validates the arguments and
wires them into Definitions (jobs, resources, the optional metadata part).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import dagster as dg

from dagster_encord.dagster import steps
from dagster_encord.dagster.assets import build_pipeline_assets
from dagster_encord.dagster.checks import build_checks
from dagster_encord.dagster.naming import PipelineNames
from dagster_encord.dagster.resources import EncordResource, LedgerResource
from dagster_encord.dagster.sensors import SensorOptions, build_sensors
from dagster_encord.errors import PlanningError
from dagster_encord.planner import PlannerConfig

if TYPE_CHECKING:
    from dagster_encord.metadata.schema import DeclaredSchema
    from dagster_encord.metadata.sources import MetadataProvider
    from dagster_encord.metadata.upsert import UpsertMode


def build_encord_ingestion(
    name: str,
    *,
    source: str,
    folder: str,
    integration: str,
    source_options: Mapping[str, Any] | None = None,
    prefix: str = "",
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    planner: PlannerConfig | Mapping[str, Any] | None = None,
    manifest_url: str | None = None,
    max_attempts: int = 5,
    poll_budget_seconds: float = 20.0,
    run_wait_seconds: float = 600.0,
    partition_batch_size: int = 500,
    sensor_interval_seconds: int = 30,
    pool: str | None = None,
    encord: EncordResource | None = None,
    ledger: LedgerResource | None = None,
    encord_resource_key: str = "encord",
    ledger_resource_key: str = "ledger",
    default_sensor_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
    sensor_options: SensorOptions | None = None,
    metadata_schema: DeclaredSchema | None = None,
    metadata_provider: MetadataProvider | None = None,
    metadata_mode: UpsertMode = "patch",
    executor: dg.ExecutorDefinition | None = None,
    extra_definitions: Sequence[dg.Definitions] = (),
) -> dg.Definitions:
    """Assets, sensors, checks and the per-chunk job that register `source` in `folder`.

    `folder` and `integration` are uuids or exact titles. `encord`/`ledger` resources are
    included when given (otherwise bind them under the resource keys yourself). With
    `metadata_provider`, each file's clientMetadata goes inline in its manifest entry; adding
    `metadata_schema` validates it first, and the `metadata_schema`/`metadata_upserts` assets and
    the conforms check join the pipeline's group, downstream of `registered_files`. The pool
    (default `encord-folder-<folder>`) caps concurrent job submissions per folder: set its limit
    with `dagster instance concurrency set <pool> <n>`. `executor` runs the per-chunk job's steps
    (default in-process: the steps are sequential; scale out with one run per chunk, or pass
    `dagster_celery.celery_executor` / `dagster_k8s.k8s_job_executor`).
    """
    if not name.replace("_", "").isalnum():
        raise PlanningError(
            f"pipeline name {name!r}: use letters, digits and underscores (it prefixes asset keys)"
        )
    planner_config = (
        planner if isinstance(planner, PlannerConfig) else PlannerConfig.from_mapping(planner or {})
    )
    if planner_config.format != "json":
        raise PlanningError(
            f"pipeline {name!r}: planner format {planner_config.format!r} cannot be POSTed by "
            "the SDK; use format: json (CSV manifests are for the Encord web app)"
        )
    settings = steps.IngestionSettings(
        name=name,
        source_url=source,
        folder=folder,
        integration=integration,
        source_options=dict(source_options or {}),
        prefix=prefix,
        include=tuple(include),
        exclude=tuple(exclude),
        planner=planner_config,
        manifest_url=manifest_url,
        max_attempts=max_attempts,
        run_wait_seconds=run_wait_seconds,
        poll_budget_seconds=poll_budget_seconds,
        **_inline_metadata(metadata_schema, metadata_provider),
    )
    names = PipelineNames(name, encord_resource_key, ledger_resource_key, partition_batch_size)
    chunks = dg.DynamicPartitionsDefinition(name=names.partitions)

    assets = build_pipeline_assets(names, settings, chunks, pool or f"encord-folder-{folder}")
    chunk_assets = assets.per_chunk
    checks = build_checks(names, settings, assets.registered_files.key)
    chunk_job = dg.define_asset_job(
        names.chunk_job,
        selection=dg.AssetSelection.assets(*chunk_assets).without_checks()
        | dg.AssetSelection.checks(*checks.cheap),
        partitions_def=chunks,
        executor_def=executor or dg.in_process_executor,
        description=f"Register one manifest chunk of {name} in Encord.",
    )
    checks_job = dg.define_asset_job(
        names.checks_job,
        selection=dg.AssetSelection.checks(*checks.all),
        description=f"Run every asset check of {name} (lists the Encord folder).",
    )
    sensors = build_sensors(
        names,
        settings,
        job_name=names.chunk_job,
        options=sensor_options
        or SensorOptions(
            interval_seconds=sensor_interval_seconds, default_status=default_sensor_status
        ),
    )
    resources: dict[str, Any] = {}
    if encord is not None:
        resources[encord_resource_key] = encord
    if ledger is not None:
        resources[ledger_resource_key] = ledger
    own = dg.Definitions(
        assets=[assets.bucket_listing, *chunk_assets],
        asset_checks=checks.all,
        jobs=[chunk_job, checks_job],
        sensors=sensors,
        resources=resources,
    )
    extras = list(extra_definitions)
    if metadata_schema is not None:
        extras.append(
            _metadata_definitions(
                name,
                metadata_schema,
                metadata_provider,
                metadata_mode,
                folder=folder,
                integration=integration,
                upstream=assets.registered_files.key,
                encord_resource_key=encord_resource_key,
                ledger_resource_key=ledger_resource_key,
            )
        )
    return dg.Definitions.merge(own, *extras)


def _inline_metadata(
    schema: DeclaredSchema | None, provider: MetadataProvider | None
) -> dict[str, Any]:
    """Planner hooks that put the provider's metadata in the manifests (validated if a schema
    is given), so registering a file needs no metadata call afterwards; the provider's own
    metadata objects (sidecars, a mapping file) are kept out of registration."""
    if provider is None:
        return {}
    from dagster_encord.metadata.sources import metadata_object_filter

    is_metadata_object = metadata_object_filter(provider)
    if schema is None:
        from dagster_encord.metadata.sources import group_metadata

        def group_for(group: str, members: Sequence[Any]) -> Any:
            shared, _per_frame = group_metadata([provider.metadata_for(m) for m in members])
            return shared or None

        return {
            "metadata_for": provider.metadata_for,
            "group_metadata_for": group_for,
            "is_metadata_object": is_metadata_object,
        }
    from dagster_encord.metadata.planning import (
        validated_group_metadata_for,
        validated_metadata_for,
    )
    from dagster_encord.metadata.validate import MetadataValidator

    validator = MetadataValidator(schema)
    return {
        "metadata_for": validated_metadata_for(provider, validator),
        "group_metadata_for": validated_group_metadata_for(provider, validator),
        "is_metadata_object": is_metadata_object,
    }


def _metadata_definitions(
    name: str,
    schema: DeclaredSchema,
    provider: MetadataProvider | None,
    mode: UpsertMode,
    *,
    folder: str,
    integration: str,
    upstream: dg.AssetKey,
    encord_resource_key: str,
    ledger_resource_key: str,
) -> dg.Definitions:
    from dagster_encord.dagster.metadata_assets import build_metadata_definitions

    if provider is None:
        raise PlanningError(
            f"pipeline {name!r}: metadata_schema is set but metadata_provider is not; pass a "
            "provider (sidecar JSON, a mapping file or a callable) from dagster_encord.metadata"
        )
    return build_metadata_definitions(
        name,
        schema,
        folder=folder,
        provider=provider,
        mode=mode,
        integration=integration,
        upstream=[upstream],
        encord_resource_key=encord_resource_key,
        ledger_resource_key=ledger_resource_key,
    )
