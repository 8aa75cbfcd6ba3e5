"""`build_encord_ingestion`: the Definitions of one bucket -> Encord folder pipeline.

Assets (group = the pipeline name, keys prefixed with it): `bucket_listing` (unpartitioned: full
listing, diff, plan, partitions added in batches) and, partitioned by chunk, `manifest_chunks`,
`upload_jobs` (in a pool per folder) and `registered_files`. Sensors and checks come from
`sensors.py` and `checks.py`; every body is a call into `steps.py`.
"""

# No `from __future__ import annotations`: dagster reads the context annotations at runtime.

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import dagster as dg

from dagster_encord.dagster import steps
from dagster_encord.dagster.checks import build_checks
from dagster_encord.dagster.naming import PipelineNames, add_partitions, folder_link
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
    metadata_schema: "DeclaredSchema | None" = None,
    metadata_provider: "MetadataProvider | None" = None,
    metadata_mode: "UpsertMode" = "patch",
    extra_definitions: Sequence[dg.Definitions] = (),
) -> dg.Definitions:
    """Assets, sensors, checks and the per-chunk job that register `source` in `folder`.

    `folder` and `integration` are uuids or exact titles. `encord`/`ledger` resources are
    included when given (otherwise bind them under the resource keys yourself). With
    `metadata_provider`, each file's clientMetadata goes inline in its manifest entry; adding
    `metadata_schema` validates it first, and the `metadata_schema`/`metadata_upserts` assets and
    the conforms check join the pipeline's group, downstream of `registered_files`. The pool
    (default `encord-folder-<folder>`) caps concurrent job submissions per folder: set its limit
    with `dagster instance concurrency set <pool> <n>`.
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
    pool_name = pool or f"encord-folder-{folder}"

    @dg.asset(
        key=names.key("bucket_listing"),
        group_name=name,
        required_resource_keys={ledger_resource_key},
        description=f"Every object under {source} (prefix {prefix!r}), diffed into the ledger "
        "and planned into manifest chunks.",
        kinds={"encord"},
    )
    def bucket_listing(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        ledger_ = names.ledger(context.resources, settings)
        result = steps.ingest_and_plan(
            settings, ledger_, settings.list_pages(settings.open_source()), complete=True
        )
        open_chunks = [chunk.chunk_id for chunk in ledger_.chunks_in_state("planned")]
        add_partitions(context.instance, names.partitions, open_chunks, partition_batch_size)
        diff, plan = result.diff, result.plan
        context.log.info(
            f"{diff.listed} objects listed: {diff.new} new, {diff.changed} changed, "
            f"{diff.deleted} deleted; {len(plan.chunks)} chunks planned"
        )
        return dg.MaterializeResult(
            metadata={
                "files": diff.listed,
                "bytes": result.listed_bytes,
                "new_files": diff.new,
                "changed_files": diff.changed,
                "deleted_files": diff.deleted,
                "chunks_planned": len(plan.chunks),
                "files_planned": plan.planned_files,
                "files_skipped": len(plan.skipped),
                "groups_held": len(plan.held),
                "seconds": round(result.seconds, 3),
                "source": dg.MetadataValue.url(source) if "://" in source else source,
            }
        )

    @dg.asset(
        key=names.key("manifest_chunks"),
        group_name=name,
        partitions_def=chunks,
        deps=[bucket_listing],
        required_resource_keys={ledger_resource_key},
        description="One registration manifest per partition (a chunk, never a file).",
        kinds={"json"},
    )
    def manifest_chunks(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        ledger_ = names.ledger(context.resources, settings)
        chunk = ledger_.chunk(context.partition_key)
        url = steps.write_manifest(settings, chunk, names.default_manifest_root(context.instance))
        return dg.MaterializeResult(
            metadata={
                "files": chunk.file_count,
                "items": chunk.item_count,
                "bytes": chunk.bytes,
                "lane": chunk.lane,
                "chunk_state": chunk.state,
                "manifest": dg.MetadataValue.path(url),
                **{f"entries_{k}": v for k, v in steps.manifest_summary(chunk).items()},
            }
        )

    @dg.asset(
        key=names.key("upload_jobs"),
        group_name=name,
        partitions_def=chunks,
        deps=[manifest_chunks],
        required_resource_keys={encord_resource_key, ledger_resource_key},
        pool=pool_name,
        description="The chunk's Encord upload job: write-ahead, POST (ignore errors, skip "
        "duplicate URLs), job id saved.",
        kinds={"encord"},
    )
    def upload_jobs(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        ledger_ = names.ledger(context.resources, settings)
        client = names.client(context.resources)
        integration_uuid = steps.resolve_integration_uuid(client, integration)
        submission = steps.submit_chunk(
            client, ledger_, settings, context.partition_key, integration_uuid
        )
        chunk = ledger_.chunk(context.partition_key)
        if submission.resubmitted:
            context.log.warning(
                f"chunk {chunk.chunk_id} was found mid-submission (a crash between the POST and "
                "saving the job id); resubmitted with skip_duplicate_urls"
            )
        return dg.MaterializeResult(
            metadata={
                "upload_job_id": submission.upload_job_id,
                "files": chunk.file_count,
                "bytes": chunk.bytes,
                "posted": submission.posted,
                "resubmitted": submission.resubmitted,
                "submit_attempts": chunk.submit_attempts,
                "seconds": round(submission.seconds, 3),
            }
        )

    @dg.asset(
        key=names.key("registered_files"),
        group_name=name,
        partitions_def=chunks,
        deps=[upload_jobs],
        required_resource_keys={encord_resource_key, ledger_resource_key},
        description="The chunk's files registered in the Encord folder (item uuids in the "
        "ledger); failures classified for retry or quarantine.",
        kinds={"encord"},
    )
    def registered_files(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        started = time.monotonic()
        ledger_ = names.ledger(context.resources, settings)
        client = names.client(context.resources)
        outcome = steps.wait_for_chunk(
            client,
            ledger_,
            settings,
            context.partition_key,
            wait_seconds=settings.run_wait_seconds,
        )
        chunk = ledger_.chunk(context.partition_key)
        folder_ref = client.resolve_folder(folder)
        metadata: dict[str, Any] = {
            "files": chunk.file_count,
            "bytes": chunk.bytes,
            "seconds": round(time.monotonic() - started, 3),
            "chunk_state": chunk.state,
            "folder": dg.MetadataValue.url(folder_link(client.domain, folder_ref.folder_uuid)),
        }
        if outcome is None and chunk.state == "completed":
            context.log.info(f"job {chunk.upload_job_id} was already recorded (job-status sensor)")
            metadata.update(pending=0)
        elif outcome is None:
            context.log.info(
                f"job {chunk.upload_job_id} still running after {settings.run_wait_seconds:.0f}s;"
                " the job-status sensor will finish it"
            )
            metadata.update(registered=0, failures=0, quarantined=0, pending=chunk.file_count)
        else:
            metadata.update(
                registered=outcome.registered,
                failures=outcome.failed,
                quarantined=outcome.quarantined,
                unaccounted=outcome.unaccounted,
                pending=0,
            )
        return dg.MaterializeResult(metadata=metadata)

    chunk_assets = [manifest_chunks, upload_jobs, registered_files]
    checks = build_checks(names, settings, registered_files.key)
    chunk_job = dg.define_asset_job(
        names.chunk_job,
        selection=dg.AssetSelection.assets(*chunk_assets).without_checks()
        | dg.AssetSelection.checks(*checks.cheap),
        partitions_def=chunks,
        executor_def=dg.in_process_executor,
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
        assets=[bucket_listing, *chunk_assets],
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
                upstream=registered_files.key,
                encord_resource_key=encord_resource_key,
                ledger_resource_key=ledger_resource_key,
            )
        )
    return dg.Definitions.merge(own, *extras)


def _inline_metadata(
    schema: "DeclaredSchema | None", provider: "MetadataProvider | None"
) -> dict[str, Any]:
    """Planner hooks that put the provider's metadata in the manifests (validated if a schema
    is given), so registering a file needs no metadata call afterwards."""
    if provider is None:
        return {}
    if schema is None:
        from dagster_encord.metadata.sources import group_metadata

        def group_for(group: str, members: Sequence[Any]) -> Any:
            shared, _per_frame = group_metadata([provider.metadata_for(m) for m in members])
            return shared or None

        return {"metadata_for": provider.metadata_for, "group_metadata_for": group_for}
    from dagster_encord.metadata.planning import (
        validated_group_metadata_for,
        validated_metadata_for,
    )
    from dagster_encord.metadata.validate import MetadataValidator

    validator = MetadataValidator(schema)
    return {
        "metadata_for": validated_metadata_for(provider, validator),
        "group_metadata_for": validated_group_metadata_for(provider, validator),
    }


def _metadata_definitions(
    name: str,
    schema: "DeclaredSchema",
    provider: "MetadataProvider | None",
    mode: "UpsertMode",
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
