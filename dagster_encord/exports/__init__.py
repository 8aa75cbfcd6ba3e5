"""exports: label rows from the project into a bucket, incremental, streamed (no Dagster)."""

from dagster_encord.exports.formats import COCO_INSTALL, coco_exporter
from dagster_encord.exports.run import (
    ExportReport,
    PendingEdits,
    export_labels,
    export_project,
    open_destination,
    pending_edits,
)
from dagster_encord.exports.writer import MANIFEST

__all__ = [
    "COCO_INSTALL",
    "MANIFEST",
    "ExportReport",
    "PendingEdits",
    "coco_exporter",
    "export_labels",
    "export_project",
    "open_destination",
    "pending_edits",
]
