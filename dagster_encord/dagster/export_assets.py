"""One asset per label export (`[pipeline, "label_exports", name]`, downstream of
`encord_project`), its job, its cron schedule and its label-edit sensor: the Dagster face of
`dagster_encord.exports`.

The sensor asks Encord only for label-row metadata edited since the export's watermark and
requests a run when there is any; its run key is the newest edit, so one change is one run.
"""

# No `from __future__ import annotations`: dagster reads the context annotations at runtime.
import re
from typing import Any

import dagster as dg

from dagster_encord.config import ExportSection, PipelineConfig
from dagster_encord.dagster.naming import PipelineNames
from dagster_encord.dagster.resources import LedgerResource
from dagster_encord.exports import (
    ExportReport,
    coco_exporter,
    export_labels,
    open_destination,
    pending_edits,
)
from dagster_encord.ledger import Ledger
from dagster_encord.sources.registry import provider_for

SHOWN = 50


def export_key(names: PipelineNames, export: str) -> dg.AssetKey:
    return dg.AssetKey([names.name, "label_exports", export])


def export_metadata(report: ExportReport) -> dict[str, Any]:
    """What a label export materialization reports (numbers are plotted over time)."""
    metadata: dict[str, Any] = {
        "rows": report.rows,
        "objects": report.objects,
        "shards": report.shards,
        "bytes": report.bytes,
        "seconds": round(report.seconds, 3),
        "window": report.sequence,
        "rows_skipped": len(report.skipped),
        "rows_unchanged_at_boundary": report.unchanged,
        "destination": dg.MetadataValue.url(report.prefix_url),
        "edited_after": report.window.get("edited_after") or "(start)",
        "edited_through": report.window.get("edited_through") or "(none)",
    }
    if report.manifest_url is not None:
        metadata["manifest"] = dg.MetadataValue.url(report.manifest_url)
    for status, rows in sorted(report.rows_by_status.items()):
        metadata[f"rows_{status.lower()}"] = rows
    for stage, rows in sorted(report.rows_by_stage.items()):
        metadata[f"rows_stage_{_slug(stage)}"] = rows
    if report.skipped:
        metadata["skipped"] = dg.MetadataValue.md(
            "\n".join(
                f"- `{s.label_hash}` {s.data_title}: {s.reason}" for s in report.skipped[:SHOWN]
            )
        )
    return metadata


def build_export_definitions(names: PipelineNames, config: PipelineConfig) -> dg.Definitions:
    """Assets, jobs, schedules and sensors of every configured export."""
    assert config.project is not None
    assets, jobs, schedules, sensors = [], [], [], []
    for section in config.exports:
        if section.format == "coco":
            coco_exporter()  # fail at definition time, naming the extra to install
        asset = _export_asset(names, config, section)
        job = dg.define_asset_job(
            f"{names.name}__export_{section.name}",
            selection=[asset.key],
            description=f"Label export {section.name!r} ({section.format}, {section.mode}).",
        )
        assets.append(asset)
        jobs.append(job)
        running = (
            dg.DefaultScheduleStatus.RUNNING
            if config.sensors.running
            else dg.DefaultScheduleStatus.STOPPED
        )
        if section.schedule is not None:
            schedules.append(
                dg.ScheduleDefinition(
                    name=f"{names.name}__export_{section.name}_schedule",
                    job=job,
                    cron_schedule=section.schedule,
                    execution_timezone="UTC",
                    default_status=running,
                )
            )
        if section.sensor:
            sensors.append(_edits_sensor(names, config, section, job))
    return dg.Definitions(assets=assets, jobs=jobs, schedules=schedules, sensors=sensors)


def _ledger(names: PipelineNames, resources: Any, config: PipelineConfig) -> Ledger:
    resource: LedgerResource = getattr(resources, names.ledger_key)
    return resource.get_ledger(names.name, max_attempts=config.registration.max_attempts)


def _export_asset(
    names: PipelineNames, config: PipelineConfig, section: ExportSection
) -> dg.AssetsDefinition:
    assert config.project is not None
    project_title = config.project.title
    kind = provider_for(section.destination)[0].rsplit(".", 1)[-1]
    kinds = {"encord", {"local": "file", "azure": "azure", "gcs": "gcs"}.get(kind, kind)}

    @dg.asset(
        key=export_key(names, section.name),
        group_name=names.name,
        deps=[names.key("encord_project")],
        required_resource_keys={names.encord_key, names.ledger_key},
        description=f"Labels of project {project_title!r} exported as {section.format} "
        f"({section.mode}) under {section.destination}; _manifest.json is written last.",
        kinds=kinds,
    )
    def label_export(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        client = names.client(context.resources)
        ledger = _ledger(names, context.resources, config)
        destination = open_destination(section, config.source.url, config.source.options)
        report = export_labels(
            client,
            section,
            project_title,
            destination,
            ledger.export_states,
            pipeline=names.name,
        )
        if report.manifest_url is None:
            context.log.info(
                "no label edits since %s: nothing written", report.window["edited_after"]
            )
        else:
            context.log.info(
                "wrote %s rows in %s shards; manifest %s",
                report.rows,
                report.shards,
                report.manifest_url,
            )
        for skipped in report.skipped[:SHOWN]:
            context.log.warning("skipped %s: %s", skipped.label_hash, skipped.reason)
        return dg.MaterializeResult(metadata=export_metadata(report))

    return label_export


def _edits_sensor(
    names: PipelineNames, config: PipelineConfig, section: ExportSection, job: Any
) -> dg.SensorDefinition:
    assert config.project is not None
    project_title = config.project.title

    @dg.sensor(
        name=names.sensor(f"label_edits_{section.name}"),
        job=job,
        minimum_interval_seconds=section.sensor_interval_seconds,
        default_status=(
            dg.DefaultSensorStatus.RUNNING
            if config.sensors.running
            else dg.DefaultSensorStatus.STOPPED
        ),
        required_resource_keys={names.encord_key, names.ledger_key},
        description=f"Label edits in {project_title!r} since export {section.name!r} last ran "
        "(label-row metadata only): one export run per change.",
    )
    def label_edits(context: dg.SensorEvaluationContext, **_bound: object) -> dg.SensorResult:
        busy = context.instance.get_run_records(
            dg.RunsFilter(
                job_name=job.name,
                statuses=[
                    dg.DagsterRunStatus.QUEUED,
                    dg.DagsterRunStatus.NOT_STARTED,
                    dg.DagsterRunStatus.STARTING,
                    dg.DagsterRunStatus.STARTED,
                ],
            ),
            limit=1,
        )
        if busy:
            return dg.SensorResult(skip_reason="an export run is in progress")
        ledger = _ledger(names, context.resources, config)
        edits = pending_edits(
            names.client(context.resources), section, project_title, ledger.export_states
        )
        if not edits.rows:
            return dg.SensorResult(skip_reason="no label edits since the last export")
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=f"{section.name}:{edits.newest}:{edits.rows}",
                    tags={"encord/export": section.name},
                )
            ]
        )

    return label_edits


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_") or "stage"
