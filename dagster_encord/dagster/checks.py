"""The pipeline's asset checks on `registered_files`.

- reconciliation (ledger only): listed = registered + pending + failed + quarantined + skipped;
- quarantine (ledger only): passes when nothing is quarantined, else lists files and errors;
- no duplicate URLs (lists the Encord folder, so it runs in the checks job, not per chunk).
"""

# No `from __future__ import annotations`: dagster reads the context annotations at runtime.

from collections import Counter
from dataclasses import dataclass

import dagster as dg

from dagster_encord.dagster.naming import PipelineNames
from dagster_encord.ledger import FileState
from dagster_encord.pipeline import IngestionSettings

QUARANTINE_SHOWN = 50


@dataclass(frozen=True)
class PipelineChecks:
    cheap: list[dg.AssetChecksDefinition]
    all: list[dg.AssetChecksDefinition]


def build_checks(
    names: PipelineNames, settings: IngestionSettings, asset_key: dg.AssetKey
) -> PipelineChecks:
    @dg.asset_check(
        asset=asset_key,
        name="reconciliation",
        required_resource_keys={names.ledger_key},
        description="Every listed file is registered, pending, failed, quarantined or skipped.",
    )
    def reconciliation(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        counts = names.ledger(context.resources, settings).counts()
        return dg.AssetCheckResult(
            passed=counts.reconciles,
            metadata={
                "listed": counts.listed,
                "registered": counts.registered,
                "pending": counts.pending,
                "failed": counts.failed,
                "quarantined": counts.quarantined,
                "skipped": counts.skipped,
            },
        )

    @dg.asset_check(
        asset=asset_key,
        name="quarantine",
        required_resource_keys={names.ledger_key},
        description="Files that will not be retried (permanent errors or attempts exhausted).",
    )
    def quarantine(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        rows = names.ledger(context.resources, settings).files_in_state(FileState.QUARANTINED)
        lines = [
            f"| `{row.key}` | {row.error_class} | {row.attempts} | "
            f"{(row.error_message or '').replace('|', '/')[:200]} |"
            for row in rows[:QUARANTINE_SHOWN]
        ]
        table = "\n".join(["| key | error class | attempts | error |", "|---|---|---|---|", *lines])
        return dg.AssetCheckResult(
            passed=not rows,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "quarantined": len(rows),
                "files": dg.MetadataValue.md(table if rows else "nothing quarantined"),
            },
        )

    @dg.asset_check(
        asset=asset_key,
        name="no_duplicate_urls",
        required_resource_keys={names.encord_key},
        description="No object URL is registered twice in the Encord folder.",
    )
    def no_duplicate_urls(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        client = names.client(context.resources)
        urls = Counter(
            item.url for item in client.iter_folder_items(settings.folder) if item.url is not None
        )
        duplicates = {url: count for url, count in urls.items() if count > 1}
        shown = sorted(duplicates)[:QUARANTINE_SHOWN]
        return dg.AssetCheckResult(
            passed=not duplicates,
            metadata={
                "items_with_url": sum(urls.values()),
                "duplicate_urls": len(duplicates),
                "examples": dg.MetadataValue.json({url: duplicates[url] for url in shown}),
            },
        )

    return PipelineChecks(
        cheap=[reconciliation, quarantine], all=[reconciliation, quarantine, no_duplicate_urls]
    )
