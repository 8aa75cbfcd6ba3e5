"""The `encord_project` asset and its check: the Dagster face of `annotation.project`.

The asset calls `sync_project` and reports numeric metadata (label rows by status, tasks per
workflow stage, ontology and dataset changes, Encord writes) so the UI plots them over time. The
check `units_have_label_rows` runs with each materialization: every data unit of the configured
datasets has a label row in the project (in a workflow project, a task).
"""

# No `from __future__ import annotations`: dagster reads the context annotations at runtime.
import re
from collections.abc import Sequence
from typing import Any

import dagster as dg

from dagster_encord.annotation.project import ProjectReport, project_coverage, sync_project
from dagster_encord.config import ProjectSection
from dagster_encord.dagster.naming import PipelineNames, project_link

SHOWN = 50


def project_metadata(report: ProjectReport, domain: str) -> dict[str, Any]:
    """What an `encord_project` materialization reports."""
    project = report.project
    plan = report.ontology.plan
    metadata: dict[str, Any] = {
        "project_hash": project.project_hash,
        "project": dg.MetadataValue.url(project_link(domain, project.project_hash)),
        "created": report.created,
        "workflow_project": project.is_workflow,
        "encord_writes": report.writes,
        "ontology_hash": report.ontology.ontology_hash,
        "ontology_features_added": len(plan.added) if plan else 0,
        "ontology_features_changed": len(plan.changed) if plan else 0,
        "ontology_features_removed": len(plan.removed) if plan else 0,
        "ontology_features_not_in_file": len(plan.kept) if plan else 0,
        "datasets": len(report.datasets),
        "datasets_attached": len(report.attached),
        "datasets_unlisted": len(report.unlisted),
        "datasets_detached": len(report.detached),
        "label_rows": len(report.label_rows),
        "label_rows_started": sum(1 for row in report.label_rows if row.label_hash),
        "seconds": round(report.seconds, 3),
    }
    if project.is_workflow:
        for stage, tasks in report.tasks_by_stage().items():
            metadata[f"tasks_{_slug(stage)}"] = tasks
    else:
        for status, rows in report.label_rows_by_status().items():
            metadata[f"label_rows_{status.lower()}"] = rows
    if report.unlisted:
        metadata["unlisted_datasets"] = dg.MetadataValue.md(
            "\n".join(
                f"- {d.title} (`{d.dataset_hash}`){' detached' if d in report.detached else ''}"
                for d in report.unlisted
            )
        )
    if plan and (plan.added or plan.changed or plan.removed or plan.kept):
        metadata["ontology_changes"] = dg.MetadataValue.md(_ontology_changes(report))
    return metadata


def build_project_definitions(
    names: PipelineNames, section: ProjectSection, upstream: Sequence[dg.AssetKey] = ()
) -> dg.Definitions:
    """`[pipeline, "encord_project"]` in the pipeline's group, with its coverage check."""

    @dg.asset(
        key=names.key("encord_project"),
        group_name=names.name,
        deps=list(upstream),
        required_resource_keys={names.encord_key},
        description=f"Encord project {section.title!r}: its ontology, workflow and datasets "
        "as configured (created if missing, changes additive).",
        kinds={"encord"},
    )
    def encord_project(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        client = names.client(context.resources)
        report = sync_project(client, section)
        plan = report.ontology.plan
        for line in (plan.added + plan.changed + plan.removed) if plan else []:
            context.log.info("ontology: %s", line)
        for line in plan.kept if plan else []:
            context.log.warning(
                "ontology: %s is in Encord but not in the file; kept (allow_removals removes it)",
                line,
            )
        for dataset in report.unlisted:
            action = "detached" if dataset in report.detached else "kept (detach_unlisted: true)"
            context.log.warning(
                "dataset %r is attached to the project but not configured; %s",
                dataset.title,
                action,
            )
        return dg.MaterializeResult(metadata=project_metadata(report, client.domain))

    @dg.asset_check(
        asset=encord_project,
        name="units_have_label_rows",
        required_resource_keys={names.encord_key},
        description="Every data unit of the configured datasets has a label row in the project "
        "(a workflow project: a task in one of its stages).",
    )
    def units_have_label_rows(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        coverage = project_coverage(names.client(context.resources), section)
        return dg.AssetCheckResult(
            passed=coverage.project_found and not coverage.missing,
            metadata={
                "project_found": coverage.project_found,
                "data_units": coverage.units,
                "without_label_row": len(coverage.missing),
                "examples": dg.MetadataValue.json(coverage.missing[:SHOWN]),
            },
        )

    return dg.Definitions(assets=[encord_project], asset_checks=[units_have_label_rows])


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_") or "stage"


def _ontology_changes(report: ProjectReport) -> str:
    plan = report.ontology.plan
    assert plan is not None
    sections = [
        ("added", plan.added),
        ("changed", plan.changed),
        ("removed", plan.removed),
        ("in Encord, not in the file (kept)", plan.kept),
    ]
    return "\n".join(
        f"- {heading}: {', '.join(f'`{item}`' for item in items[:SHOWN])}"
        for heading, items in sections
        if items
    )
