"""The `encord_datasets` asset: registered files linked to the configured Encord datasets.

One unpartitioned asset per pipeline, not a step per chunk: which dataset a file belongs in can
change without its chunk changing (its metadata moves it, it is deleted from the bucket, a rule
is edited), links are batched 1,000 items a request across chunks, and a crash is healed with one
listing per dataset. A run reads the ledger, asks Encord only for what changed, and an unchanged
re-run writes nothing. The body is one call of `pipeline.dataset_sync.sync_datasets`.
"""

# No `from __future__ import annotations`: dagster reads the context annotations at runtime.
from collections.abc import Sequence
from typing import Any

import dagster as dg

from dagster_encord.dagster.naming import PipelineNames, dataset_link
from dagster_encord.pipeline import IngestionSettings
from dagster_encord.pipeline.dataset_sync import DatasetSyncReport, sync_datasets


def datasets_metadata(report: DatasetSyncReport, domain: str) -> dict[str, Any]:
    """Numeric materialization metadata: totals, then per dataset (keys name the title), and a
    link a person can open to each dataset."""
    metadata: dict[str, Any] = {
        "files_linked": sum(report.linked.values()),
        "files_unlinked": sum(report.unlinked.values()),
        "deleted_files_kept": sum(report.kept.values()),
        "items_deleted": report.items_deleted,
        "links_healed": report.healed,
        "link_misses": report.link_misses,
        "datasets_created": len(report.created),
        "encord_calls": report.requests,
        "encord_writes": report.writes,
        "seconds": round(report.seconds, 3),
    }
    for title in report.datasets:
        metadata[f"linked [{title}]"] = report.linked[title]
        metadata[f"unlinked [{title}]"] = report.unlinked[title]
        metadata[f"files in [{title}]"] = report.in_dataset[title]
        metadata[f"dataset [{title}]"] = dg.MetadataValue.url(
            dataset_link(domain, report.datasets[title])
        )
    return metadata


def build_datasets_asset(
    names: PipelineNames, settings: IngestionSettings, deps: Sequence[dg.AssetKey]
) -> dg.AssetsDefinition:
    titles = ", ".join(rule.title for rule in settings.config.datasets)

    @dg.asset(
        key=names.key("encord_datasets"),
        group_name=settings.name,
        deps=list(deps),
        required_resource_keys={names.encord_key, names.ledger_key},
        description=f"Registered files linked to the Encord datasets {titles} by rule "
        f"(on_delete: {settings.config.on_delete}).",
        kinds={"encord"},
    )
    def encord_datasets(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        client = names.client(context.resources)
        report = sync_datasets(client, names.ledger(context.resources, settings), settings)
        if report.created:
            context.log.info(f"created datasets {', '.join(report.created)}")
        if report.healed:
            context.log.warning(f"{report.healed} links left by an interrupted sync were healed")
        if report.link_misses:
            context.log.warning(
                f"{report.link_misses} files were neither linked nor found in their dataset; "
                "they are linked again next time"
            )
        kept = sum(report.kept.values())
        if kept:
            context.log.info(f"{kept} files deleted from the bucket stay linked (on_delete: keep)")
        return dg.MaterializeResult(metadata=datasets_metadata(report, client.domain))

    return encord_datasets
