"""The pipeline's four assets. Each body is a call into `steps.py` plus the metadata it reports.

`bucket_listing` (unpartitioned): full listing, ledger diff, planned chunks, partitions added in
batches. Partitioned by chunk (never by file): `manifest_chunks` writes the manifest,
`upload_jobs` submits it (in the folder's pool), `registered_files` records the job's outcome.
"""

# No `from __future__ import annotations`: dagster reads the context annotations at runtime.
import time
from dataclasses import dataclass
from typing import Any

import dagster as dg

from dagster_encord.dagster.naming import PipelineNames, add_partitions, folder_link
from dagster_encord.ledger import ChunkState
from dagster_encord.pipeline import IngestionSettings, steps


@dataclass(frozen=True)
class PipelineAssets:
    bucket_listing: dg.AssetsDefinition
    manifest_chunks: dg.AssetsDefinition
    upload_jobs: dg.AssetsDefinition
    registered_files: dg.AssetsDefinition

    @property
    def per_chunk(self) -> list[dg.AssetsDefinition]:
        return [self.manifest_chunks, self.upload_jobs, self.registered_files]


def listing_metadata(result: steps.IngestResult, display_url: str) -> dict[str, Any]:
    """What a `bucket_listing` materialization reports, from the asset or the sensor."""
    diff, plan = result.diff, result.plan
    return {
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
        "source": dg.MetadataValue.url(display_url),
    }


def build_pipeline_assets(
    names: PipelineNames,
    settings: IngestionSettings,
    partitions_def: dg.DynamicPartitionsDefinition,
    pool: str,
) -> PipelineAssets:
    @dg.asset(
        key=names.key("bucket_listing"),
        group_name=settings.name,
        required_resource_keys={names.ledger_key},
        description=f"Every object under {settings.display_url} (prefix {settings.prefix!r}), "
        "diffed into the ledger and planned into manifest chunks.",
        kinds={"encord"},
    )
    def bucket_listing(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        ledger_ = names.ledger(context.resources, settings)
        result = steps.ingest_and_plan(
            settings, ledger_, settings.list_pages(settings.open_source()), complete=True
        )
        open_chunks = [chunk.chunk_id for chunk in ledger_.chunks_in_state(ChunkState.PLANNED)]
        add_partitions(context.instance, names.partitions, open_chunks, names.partition_batch_size)
        diff, plan = result.diff, result.plan
        context.log.info(
            f"{diff.listed} objects listed: {diff.new} new, {diff.changed} changed, "
            f"{diff.deleted} deleted; {len(plan.chunks)} chunks planned"
        )
        metadata = listing_metadata(result, settings.display_url)
        if settings.config.events is not None:
            # What the complete listing found that no event announced: a rising line means
            # the bucket's notifications are lost or misconfigured.
            metadata["missed_by_events"] = diff.new + diff.changed + diff.deleted
        return dg.MaterializeResult(metadata=metadata)

    @dg.asset(
        key=names.key("manifest_chunks"),
        group_name=settings.name,
        partitions_def=partitions_def,
        deps=[bucket_listing],
        required_resource_keys={names.ledger_key},
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
                "chunk_state": chunk.state.value,  # Dagster serialises no foreign enums
                "manifest": dg.MetadataValue.path(url),
                **{f"entries_{k}": v for k, v in steps.manifest_summary(chunk).items()},
            }
        )

    @dg.asset(
        key=names.key("upload_jobs"),
        group_name=settings.name,
        partitions_def=partitions_def,
        deps=[manifest_chunks],
        required_resource_keys={names.encord_key, names.ledger_key},
        pool=pool,
        description="The chunk's Encord upload job: write-ahead, POST (ignore errors, skip "
        "duplicate URLs), job id saved.",
        kinds={"encord"},
    )
    def upload_jobs(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        ledger_ = names.ledger(context.resources, settings)
        client = names.client(context.resources)
        integration_uuid = steps.resolve_integration_uuid(client, settings.integration)
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
        group_name=settings.name,
        partitions_def=partitions_def,
        deps=[upload_jobs],
        required_resource_keys={names.encord_key, names.ledger_key},
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
        folder_ref = client.resolve_folder(settings.folder)
        metadata: dict[str, Any] = {
            "files": chunk.file_count,
            "bytes": chunk.bytes,
            "seconds": round(time.monotonic() - started, 3),
            "chunk_state": chunk.state.value,  # Dagster serialises no foreign enums
            "folder": dg.MetadataValue.url(folder_link(client.domain, folder_ref.folder_uuid)),
        }
        if outcome is None and chunk.state == ChunkState.COMPLETED:
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

    return PipelineAssets(bucket_listing, manifest_chunks, upload_jobs, registered_files)
