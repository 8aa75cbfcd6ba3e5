"""The `exports` section: label exports from the project into a bucket, as Encord JSON or COCO.

Label status names are Encord's own: the annotation task statuses (`QUEUED`, `ASSIGNED`,
`IN_REVIEW`, `RETURNED`, `COMPLETED`), which Encord filters on the server, and the label statuses
of manual QA projects (`NOT_LABELLED` ... `REVIEWED_TWICE`), filtered on each row's metadata.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from dagster_encord.config.base import (
    NAME_HELP,
    Section,
    asset_name,
    bucket_url,
    no_secret_options,
)

TASK_STATUSES = ("QUEUED", "ASSIGNED", "IN_REVIEW", "RETURNED", "COMPLETED")
LABEL_STATUSES = (
    "NOT_LABELLED",
    "LABEL_IN_PROGRESS",
    "LABELLED",
    "REVIEW_IN_PROGRESS",
    "REVIEWED",
    "REVIEWED_TWICE",
)
CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
MAX_BUNDLE = 1000  # the SDK's limit for one bundled label-row request


class ExportSection(Section):
    """One label export: which rows and objects, in which format, to which bucket prefix."""

    _minimums: ClassVar[dict[str, tuple[float, bool]]] = {
        "shard_rows": (1, True),
        "sensor_interval_seconds": (1, True),
    }

    name: str = Field(description=f"Export name: {NAME_HELP}.")
    format: Literal["coco", "json"] = Field(
        description="coco (the SDK's COCO exporter, one file per shard; needs "
        "dagster-encord[coco]) or json (Encord label rows, one JSON object per line)."
    )
    destination: str = Field(
        description="Bucket URL and prefix the export is written under: s3://, gs://, az://, "
        "https://<account>.blob... or file://."
    )
    options: dict[str, Any] | None = Field(
        default=None,
        description="Provider options for the destination, as for source.options (credentials "
        "only as <option>_env). Default: source.options when the destination is on the same "
        "provider as the source, else none.",
    )
    label_statuses: list[str] | None = Field(
        default=None,
        description="Only rows in these statuses: annotation task statuses (QUEUED, ASSIGNED, "
        "IN_REVIEW, RETURNED, COMPLETED; filtered by Encord) or label statuses (NOT_LABELLED ... "
        "REVIEWED_TWICE).",
    )
    stage: str | None = Field(
        default=None, description="Only rows whose task is in this workflow stage (its title)."
    )
    objects: list[str] | None = Field(
        default=None,
        description="Ontology object names to include (default all); other objects are left out "
        "of every row.",
    )
    classifications: list[str] | None = Field(
        default=None,
        description="Ontology classification names to include (default all).",
    )
    datasets: list[str] | None = Field(
        default=None, description="Only rows of these datasets (exact titles); default all."
    )
    branch: str = Field(default="main", description="Label branch to export.")
    signed_urls: bool = Field(
        default=False,
        description="Data links are signed URLs (they expire) instead of the bucket URLs.",
    )
    mode: Literal["incremental", "snapshot"] = Field(
        default="incremental",
        description="incremental: rows edited since the last export, under window-NNNNNN/; "
        "snapshot: every matching row, under snapshot-<UTC time>/.",
    )
    schedule: str | None = Field(
        default=None, description="Cron schedule (UTC) for the export, e.g. '0 * * * *'."
    )
    sensor: bool = Field(
        default=True,
        description="A sensor asks Encord for label edits since the last export (metadata "
        "only) and starts an export when there are any.",
    )
    sensor_interval_seconds: int = Field(
        default=300, description="Minimum seconds between the label-edit sensor's ticks."
    )
    shard_rows: int = Field(
        default=MAX_BUNDLE, description="Label rows per shard file (bundles are 1,000 at most)."
    )

    _name = field_validator("name")(asset_name)
    _destination = field_validator("destination")(bucket_url)
    _options = field_validator("options")(no_secret_options)

    @field_validator("label_statuses")
    @classmethod
    def _statuses(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        unknown = [status for status in value if status not in TASK_STATUSES + LABEL_STATUSES]
        if unknown:
            raise ValueError(f"unknown label status {unknown[0]!r}: {status_help()}")
        if not value:
            raise ValueError(
                f"an empty list matches nothing (omit the field for all): {status_help()}"
            )
        return value

    @field_validator("objects", "classifications", "datasets")
    @classmethod
    def _names(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and (not value or any(not name.strip() for name in value)):
            raise ValueError("expected a list of names (omit the field for all)")
        return value

    _schedule = field_validator("schedule")(lambda value: value if value is None else cron(value))

    def destination_options(
        self, source_url: str, source_options: dict[str, Any]
    ) -> dict[str, Any]:
        """The options the destination is opened with (see `options`)."""
        if self.options is not None:
            return self.options
        from dagster_encord.sources.registry import provider_for

        same = provider_for(self.destination) == provider_for(source_url)
        return dict(source_options) if same else {}


def cron(value: str) -> str:
    """A cron schedule as Dagster takes it: five fields, or a macro such as @daily."""
    if value.strip() not in CRON_MACROS and len(value.split()) != 5:
        raise ValueError(
            f"{value!r} is not a cron schedule: five fields (minute hour day month "
            "weekday), e.g. '0 * * * *', or @hourly / @daily"
        )
    return value


def inside_source(source_url: str, prefix: str, destinations: list[str]) -> list[str]:
    """Exclude globs (relative to the source prefix) for export destinations that lie under the
    listed source, so exports written into the source bucket are never registered as media."""
    base = source_url.rstrip("/") + "/" + prefix
    globs = []
    for destination in destinations:
        folder = destination.rstrip("/") + "/"
        if folder.startswith(base):
            globs.append(folder[len(base) :] + "*")
    return globs


def status_help() -> str:
    return (
        "use annotation task statuses ("
        + ", ".join(TASK_STATUSES)
        + ") or label statuses ("
        + ", ".join(LABEL_STATUSES)
        + ")"
    )
