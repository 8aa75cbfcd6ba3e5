"""Builders for the custom-metadata part of a pipeline: the `metadata_schema` and
`metadata_upserts` assets and the "metadata conforms to schema" asset check.

Each builder is a plain function taking explicit arguments; `build_encord_ingestion` calls them
with the pipeline's names. The work itself lives in `dagster_encord.metadata` (schema_sync,
upsert_execute, frame_execute, item_metadata); these assets only wire resources and report.
"""

# No `from __future__ import annotations`: dagster inspects the context annotations at runtime.
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import dagster as dg

from dagster_encord.metadata.frame_execute import execute_frame_upserts
from dagster_encord.metadata.frames import CollectedUpdates, plan_frames
from dagster_encord.metadata.item_metadata import iter_folder_metadata
from dagster_encord.metadata.ledger_io import collect_from_ledger, record_upsert_outcome
from dagster_encord.metadata.schema import DeclaredSchema
from dagster_encord.metadata.schema_sync import sync_schema
from dagster_encord.metadata.sources import MetadataProvider
from dagster_encord.metadata.upsert import MetadataUpdate, UpsertMode, plan_upserts
from dagster_encord.metadata.upsert_execute import UpsertReport, execute_upserts
from dagster_encord.metadata.validate import MetadataValidator

UpdatesFn = Callable[[dg.AssetExecutionContext], Iterable[MetadataUpdate] | CollectedUpdates]
OutcomeFn = Callable[[dg.AssetExecutionContext, UpsertReport], None]
MAX_LISTED_VIOLATIONS = 50


def build_metadata_schema_asset(
    schema: DeclaredSchema,
    *,
    name: str = "metadata_schema",
    key_prefix: Sequence[str] = (),
    group_name: str | None = None,
    encord_resource_key: str = "encord",
    dry_run: bool = False,
) -> dg.AssetsDefinition:
    """The asset that keeps Encord's metadata schema in sync with `schema`: load, diff, add,
    change types only where allowed, delete only what is listed (soft by default), save,
    reload and verify. Undeclared keys in Encord are kept."""

    @dg.asset(
        name=name,
        key_prefix=list(key_prefix) or None,
        group_name=group_name,
        required_resource_keys={encord_resource_key},
        description=f"Encord's metadata schema, kept in sync with {schema.origin}.",
        kinds={"encord"},
    )
    def metadata_schema(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        client = getattr(context.resources, encord_resource_key).get_client()
        result = sync_schema(client, schema, dry_run=dry_run)
        for action in result.actions:
            context.log.info("metadata schema: %s", action)
        for key in result.plan.kept_undeclared:
            context.log.info("metadata schema: kept undeclared key %r", key)
        return dg.MaterializeResult(
            metadata={
                "declared_keys": len(schema.keys),
                "live_keys": result.live_key_count,
                "actions_applied": len(result.actions) if result.applied else 0,
                "kept_undeclared_keys": len(result.plan.kept_undeclared),
                "verified": result.verified,
                "dry_run": dry_run,
                "actions": dg.MetadataValue.md(
                    "\n".join(f"- `{a}`" for a in result.actions) or "in sync"
                ),
            }
        )

    return metadata_schema


def build_metadata_upserts_asset(
    schema: DeclaredSchema,
    *,
    collect_updates: UpdatesFn,
    record_outcome: OutcomeFn | None = None,
    mode: UpsertMode = "patch",
    folder: str | None = None,
    integration: str | None = None,
    name: str = "metadata_upserts",
    key_prefix: Sequence[str] = (),
    group_name: str | None = None,
    deps: Sequence[Any] = (),
    encord_resource_key: str = "encord",
    other_resource_keys: Sequence[str] = (),
) -> dg.AssetsDefinition:
    """The asset that upserts metadata of registered files whose metadata changed.

    `collect_updates(context)` yields a `MetadataUpdate` per file (item uuid and the ledger's
    previous fingerprint included), or returns `CollectedUpdates` whose `frames` are patched on
    the frames of group items afterwards (patch, read back, verify; `report.frames`);
    `record_outcome(context, report)` stores per-item errors and new fingerprints (in the
    ledger). `reregister` mode needs `folder` and `integration` (uuids or titles).
    `other_resource_keys` are resources those callables read from `context.resources`.
    """
    validator = MetadataValidator(schema)

    @dg.asset(
        name=name,
        key_prefix=list(key_prefix) or None,
        group_name=group_name,
        deps=list(deps),
        required_resource_keys={encord_resource_key, *other_resource_keys},
        description=f"clientMetadata of registered files, upserted by {mode} and verified.",
        kinds={"encord"},
    )
    def metadata_upserts(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        client = getattr(context.resources, encord_resource_key).get_client()
        collected = collect_updates(context)
        if not isinstance(collected, CollectedUpdates):
            collected = CollectedUpdates(tuple(collected))
        plan = plan_upserts(collected.updates, mode=mode, validator=validator)
        report = execute_upserts(client, plan, folder=folder, integration=integration)
        if collected.frames:
            # Also when no frame needs a patch: changed members' fingerprints are recorded
            # from the frame report (no request is made then).
            frames = plan_frames(collected.frames, validator=validator)
            report.frames = execute_frame_upserts(client, frames)
        if record_outcome is not None:
            record_outcome(context, report)
        frame_errors = report.frames.errors if report.frames is not None else {}
        for url, message in list(report.errors.items())[:MAX_LISTED_VIOLATIONS]:
            context.log.warning("metadata upsert failed for %s: %s", url, message)
        for url, message in list(frame_errors.items())[:MAX_LISTED_VIOLATIONS]:
            context.log.warning("per-frame metadata upsert failed for %s: %s", url, message)
        return dg.MaterializeResult(
            metadata={
                "mode": mode,
                "patched": report.patched,
                "reregistered": report.reregistered,
                "unchanged": report.unchanged,
                "rejected": len(plan.rejected),
                "failed": len(report.errors),
                "verified": report.verified,
                "skipped_by_fingerprint": len(report.skipped),
                "inline_new_files": len(plan.inline),
                "frames_patched": report.frames.patched if report.frames is not None else 0,
                "frames_verified": len(report.frames.verified) if report.frames is not None else 0,
                "frames_failed": len(frame_errors),
            }
        )

    return metadata_upserts


def build_metadata_conforms_check(
    schema: DeclaredSchema,
    *,
    asset: Any,
    folder: str,
    name: str = "metadata_conforms_to_schema",
    encord_resource_key: str = "encord",
    blocking: bool = False,
) -> dg.AssetChecksDefinition:
    """The check "metadata conforms to schema": lists the folder's items with their metadata
    (one request per 1,000 items) and validates every value against `schema`."""
    validator = MetadataValidator(schema)

    @dg.asset_check(
        asset=asset,
        name=name,
        blocking=blocking,
        required_resource_keys={encord_resource_key},
        description="Every item's clientMetadata in the folder conforms to the declared schema.",
    )
    def metadata_conforms(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        client = getattr(context.resources, encord_resource_key).get_client()
        checked = 0
        errors: list[str] = []
        failed_items = 0
        for _item_uuid, location, metadata in iter_folder_metadata(client, folder):
            checked += 1
            found = validator.errors(metadata, file=location)
            if found:
                failed_items += 1
                errors.extend(str(v) for v in found[: MAX_LISTED_VIOLATIONS - len(errors)])
        return dg.AssetCheckResult(
            passed=failed_items == 0,
            metadata={
                "items_checked": checked,
                "items_failing": failed_items,
                "violations": dg.MetadataValue.md("\n".join(f"- {e}" for e in errors) or "none"),
            },
        )

    return metadata_conforms


def build_metadata_definitions(
    pipeline: str,
    schema: DeclaredSchema,
    *,
    folder: str,
    provider: MetadataProvider,
    mode: UpsertMode = "patch",
    integration: str | None = None,
    upstream: Sequence[Any] = (),
    encord_resource_key: str = "encord",
    ledger_resource_key: str = "ledger",
    blocking_check: bool = False,
) -> dg.Definitions:
    """The metadata part of pipeline `pipeline`, keyed `[pipeline, "metadata_schema"]` and
    `[pipeline, "metadata_upserts"]` in group `pipeline`, with the conforms check.

    The upserts read registered files from the ledger (`LedgerResource.get_ledger(pipeline)`),
    take their metadata from `provider`, and record per-file outcomes back in the ledger. Keys the
    members of an image group or sequence do not share are patched on each member's frame.
    `upstream` (e.g. the `registered_files` asset key) becomes a dependency of the upserts.
    """

    def ledger_of(context: dg.AssetExecutionContext) -> Any:
        return getattr(context.resources, ledger_resource_key).get_ledger(pipeline)

    def record(context: dg.AssetExecutionContext, report: UpsertReport) -> None:
        written, failed = record_upsert_outcome(ledger_of(context), report)
        context.log.info("ledger: %d fingerprints and %d errors recorded", written, failed)

    schema_asset = build_metadata_schema_asset(
        schema,
        key_prefix=[pipeline],
        group_name=pipeline,
        encord_resource_key=encord_resource_key,
    )
    upserts_asset = build_metadata_upserts_asset(
        schema,
        collect_updates=lambda context: collect_from_ledger(ledger_of(context), provider),
        record_outcome=record,
        mode=mode,
        folder=folder,
        integration=integration,
        key_prefix=[pipeline],
        group_name=pipeline,
        deps=[schema_asset, *upstream],
        encord_resource_key=encord_resource_key,
        other_resource_keys=[ledger_resource_key],
    )
    check = build_metadata_conforms_check(
        schema,
        asset=upserts_asset,
        folder=folder,
        encord_resource_key=encord_resource_key,
        blocking=blocking_check,
    )
    return dg.Definitions(assets=[schema_asset, upserts_asset], asset_checks=[check])
