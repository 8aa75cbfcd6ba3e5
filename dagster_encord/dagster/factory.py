"""`build_encord_ingestion(config)`: the Definitions of one bucket -> Encord folder pipeline.

Assets (group = the pipeline name, keys prefixed with it): `bucket_listing` (unpartitioned: full
listing, diff, plan, partitions added in batches) and, partitioned by chunk, `manifest_chunks`,
`upload_jobs` (in a pool per folder) and `registered_files`; with a metadata schema, also
`metadata_schema` and `metadata_upserts`; with datasets, `encord_datasets`; with a `project:`
section, `encord_project`. The configuration model (`dagster_encord.config`) is the only input
besides what only Python can give (a hand-built metadata provider, an executor).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import dagster as dg

from dagster_encord.config import PipelineConfig, pipeline_config
from dagster_encord.dagster.assets import build_pipeline_assets
from dagster_encord.dagster.checks import build_checks
from dagster_encord.dagster.naming import PipelineNames
from dagster_encord.dagster.resources import encord_resource, ledger_resource
from dagster_encord.dagster.sensors import SensorOptions, build_sensors
from dagster_encord.pipeline import IngestionSettings

if TYPE_CHECKING:
    from dagster_encord.metadata.schema import DeclaredSchema
    from dagster_encord.metadata.sources import MetadataProvider


def build_encord_ingestion(
    config: PipelineConfig | Mapping[str, Any],
    *,
    metadata_provider: MetadataProvider | None = None,
    metadata_schema: DeclaredSchema | None = None,
    executor: dg.ExecutorDefinition | None = None,
    extra_definitions: Sequence[dg.Definitions] = (),
    clock: Callable[[], datetime] | None = None,
) -> dg.Definitions:
    """Assets, sensors, checks, jobs and resources of one pipeline.

    `config` is a `PipelineConfig` or the same mapping a YAML file holds (see
    `dagster_encord.config`). Python-only extras: `metadata_provider` (e.g.
    `FromCallable(fn)`) and `metadata_schema` (a `DeclaredSchema`) replace the `metadata:`
    section's; `executor` runs the per-chunk job's steps (default in-process; scale out with one
    run per chunk, or `dagster_celery.celery_executor` / `dagster_k8s.k8s_job_executor`);
    `clock` is what the retry sensor compares backoffs against (tests move it forward).
    """
    config = pipeline_config(config, origin=f"build_encord_ingestion({_name_of(config)!r})")
    settings = IngestionSettings.from_config(
        config, metadata_provider=metadata_provider, metadata_schema=metadata_schema
    )
    names = PipelineNames.of(config)
    chunks = dg.DynamicPartitionsDefinition(name=names.partitions)

    assets = build_pipeline_assets(names, settings, chunks, settings.pool)
    checks = build_checks(names, settings, assets.registered_files.key)
    chunk_job = dg.define_asset_job(
        names.chunk_job,
        selection=dg.AssetSelection.assets(*assets.per_chunk).without_checks()
        | dg.AssetSelection.checks(*checks.cheap),
        partitions_def=chunks,
        executor_def=executor or dg.in_process_executor,
        description=f"Register one manifest chunk of {config.name} in Encord.",
    )
    checks_job = dg.define_asset_job(
        names.checks_job,
        selection=dg.AssetSelection.checks(*checks.all),
        description=f"Run every asset check of {config.name} (lists the Encord folder).",
    )
    sensors = build_sensors(
        names, settings, job_name=names.chunk_job, options=_sensor_options(config, clock)
    )
    if config.events is not None:
        from dagster_encord.dagster.event_sensor import build_events_sensor

        sensors.append(
            build_events_sensor(
                names,
                settings,
                config.events,
                job_name=names.chunk_job,
                options=_sensor_options(config, clock),
            )
        )
    jobs, schedules = [chunk_job, checks_job], []
    if config.reconcile is not None:
        reconcile = dg.define_asset_job(
            f"{names.name}__reconcile",
            selection=[assets.bucket_listing.key],
            description=f"The complete listing of {settings.display_url}: files whose events "
            "were lost, deletions, drift.",
        )
        jobs.append(reconcile)
        schedules.append(
            dg.ScheduleDefinition(
                name=f"{names.name}__reconcile_schedule",
                job=reconcile,
                cron_schedule=config.reconcile.schedule,
                execution_timezone="UTC",
                default_status=dg.DefaultScheduleStatus.RUNNING
                if config.sensors.running
                else dg.DefaultScheduleStatus.STOPPED,
            )
        )
    own = dg.Definitions(
        assets=[assets.bucket_listing, *assets.per_chunk],
        asset_checks=checks.all,
        jobs=jobs,
        schedules=schedules,
        sensors=sensors,
        resources={
            names.encord_key: encord_resource(config.encord),
            names.ledger_key: ledger_resource(config.ledger),
        },
    )
    extras = list(extra_definitions)
    if settings.metadata_schema is not None:
        extras.append(_metadata_definitions(names, settings, assets.registered_files.key))
    if config.datasets:
        extras.append(_datasets_definitions(names, settings, assets.registered_files.key))
    if config.project is not None:  # after the datasets: the project follows them
        extras.append(_project_definitions(names, config, [own, *extras]))
    if config.exports:  # downstream of encord_project
        from dagster_encord.dagster.export_assets import build_export_definitions

        extras.append(build_export_definitions(names, config))
    return dg.Definitions.merge(own, *extras)


def _name_of(config: PipelineConfig | Mapping[str, Any]) -> str:
    return str(config.name if isinstance(config, PipelineConfig) else config.get("name", "?"))


def _sensor_options(config: PipelineConfig, clock: Callable[[], datetime] | None) -> SensorOptions:
    sensors = config.sensors
    return SensorOptions(
        interval_seconds=sensors.interval_seconds,
        default_status=(
            dg.DefaultSensorStatus.RUNNING if sensors.running else dg.DefaultSensorStatus.STOPPED
        ),
        heal_after_seconds=sensors.heal_after_seconds,
        stale_run_seconds=sensors.stale_run_seconds,
        clock=clock,
    )


def _project_definitions(
    names: PipelineNames, config: PipelineConfig, built: Sequence[dg.Definitions]
) -> dg.Definitions:
    from dagster_encord.dagster.project_assets import build_project_definitions

    assert config.project is not None
    # The project follows the registered files and, when the pipeline has them, its datasets
    # (`encord_datasets`), so one run materializes the datasets first.
    upstream = [names.key("registered_files")]
    datasets = names.key("encord_datasets")
    if datasets in dg.Definitions.merge(*built).resolve_all_asset_keys():
        upstream.append(datasets)
    return build_project_definitions(names, config.project, upstream)


def _datasets_definitions(
    names: PipelineNames, settings: IngestionSettings, registered: dg.AssetKey
) -> dg.Definitions:
    from dagster_encord.dagster.annotation_assets import build_datasets_asset

    deps = [registered]
    if settings.metadata_schema is not None:
        deps.append(names.key("metadata_upserts"))  # link on the metadata Encord now holds
    return dg.Definitions(assets=[build_datasets_asset(names, settings, deps)])


def _metadata_definitions(
    names: PipelineNames, settings: IngestionSettings, upstream: dg.AssetKey
) -> dg.Definitions:
    from dagster_encord.dagster.metadata_assets import build_metadata_definitions

    assert settings.metadata_schema is not None and settings.metadata_provider is not None
    section = settings.config.metadata
    return build_metadata_definitions(
        settings.name,
        settings.metadata_schema,
        folder=settings.folder,
        provider=settings.metadata_provider,
        mode=section.mode if section is not None else "patch",
        integration=settings.integration,
        upstream=[upstream],
        encord_resource_key=names.encord_key,
        ledger_resource_key=names.ledger_key,
    )
