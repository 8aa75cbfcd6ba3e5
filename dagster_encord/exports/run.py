"""One label export run: list the project's label rows with the filters Encord applies, keep the
window's rows, initialise them 1,000 at a time, write shards, then the manifest, then the
watermark (see `window.py`). One bundle (and one shard) of labels is held at a time.

The SDK's label rows are reference cycles from birth, so only Python's cyclic collector frees a
bundle once it is written; left to itself, it runs full passes over the whole listing (20,000
rows: ~400,000 objects) about twice a bundle, half of a run's time. A run therefore pauses
automatic collection and collects once a bundle instead, with the objects the process held
before the run frozen out of those passes (`_collect_per_bundle`).

`pending_edits` is the cheap question a sensor asks: how many rows changed since the last export,
from the label-row metadata alone.
"""

from __future__ import annotations

import gc
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dagster_encord.annotation.project import find_project
from dagster_encord.config.exports import ExportSection
from dagster_encord.credentials import redact_url, resolve_env_options
from dagster_encord.encord_client.labels import BUNDLE_SIZE
from dagster_encord.encord_client.projects import ProjectRef
from dagster_encord.errors import ExportError
from dagster_encord.exports.candidates import (
    Candidate,
    Recorded,
    by_membership,
    candidates,
    list_rows,
)
from dagster_encord.exports.formats import Skipped, shard_format
from dagster_encord.exports.selection import Selection, resolve_selection
from dagster_encord.exports.window import Placement, WatermarkTracker, digest
from dagster_encord.exports.writer import ShardWriter
from dagster_encord.ledger import ExportState, ExportStates
from dagster_encord.sources import Source, open_source

if TYPE_CHECKING:
    from dagster_encord.encord_client.client import EncordClient


@dataclass
class ExportReport:
    name: str
    format: str
    mode: str
    sequence: int
    prefix_url: str
    manifest_url: str | None  # None: nothing changed, nothing written
    window: dict[str, Any]
    rows: int = 0
    objects: int = 0
    shards: int = 0
    bytes: int = 0
    unchanged: int = 0  # rows at the watermark re-read and found as exported
    rows_by_status: dict[str, int] = field(default_factory=dict)
    rows_by_stage: dict[str, int] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0


def open_destination(
    section: ExportSection, source_url: str, source_options: dict[str, Any]
) -> Source:
    options = section.destination_options(source_url, source_options)
    return open_source(
        section.destination, **resolve_env_options(options, f"exports[{section.name}].options")
    )


def export_project(client: EncordClient, title: str) -> ProjectRef:
    project = find_project(client, title)
    if project is None:
        raise ExportError(
            f"project {title!r} does not exist in Encord yet: materialize encord_project first"
        )
    return project


def export_labels(
    client: EncordClient,
    section: ExportSection,
    project_title: str,
    destination: Source,
    states: ExportStates,
    *,
    pipeline: str,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ExportReport:
    started = time.monotonic()
    project = export_project(client, project_title)
    selection = resolve_selection(client, project, section)
    fmt = shard_format(
        section.format,
        client.project_ontology(project.project_hash) if section.format == "coco" else None,
    )
    incremental = section.mode == "incremental"
    saved = states.get(section.name)
    state = saved if incremental else ExportState()  # a snapshot reads every row
    sequence = saved.sequence + 1
    run_dir = (
        f"window-{sequence:06d}/"
        if incremental
        else f"snapshot-{clock().astimezone(UTC):%Y%m%dT%H%M%SZ}/"
    )
    root = getattr(destination, "root_prefix", "")
    writer = ShardWriter(destination, root + run_dir, fmt, section.shard_rows)
    recorded = _recorded(states, section.name) if incremental and by_membership(selection) else None
    tracker = WatermarkTracker(state)
    written: list[tuple[str, str]] = []  # (label hash, listed edit time) for `recorded`
    report = ExportReport(
        section.name,
        section.format,
        section.mode,
        sequence,
        redact_url(destination.object_url(root + run_dir)),
        None,
        _window(state, incremental),
    )
    with _collect_per_bundle() as collect:
        todo = candidates(
            list_rows(client, selection, state, incremental), selection, state, recorded
        )
        statuses, stages = _write_bundles(
            client,
            section,
            selection,
            todo,
            tracker,
            writer,
            report,
            collect,
            written if recorded is not None else None,
        )
    writer.flush()
    report.rows_by_status, report.rows_by_stage = dict(statuses), dict(stages)
    report.window["edited_through"] = tracker.newest.isoformat() if tracker.newest else None
    report.rows, report.shards, report.bytes = writer.rows, len(writer.shards), writer.bytes
    report.skipped = writer.skipped
    if incremental and not writer.shards and not writer.skipped:
        report.seconds = time.monotonic() - started
        return report  # nothing changed since the last export: nothing written
    report.manifest_url = writer.write_manifest(
        _manifest_body(section, selection, report, pipeline, tracker, clock)
    )
    states.save(section.name, tracker.next_state(report.manifest_url, sequence), written)
    report.seconds = time.monotonic() - started
    return report


@dataclass(frozen=True)
class PendingEdits:
    rows: int  # label rows edited since the export's last window
    newest: str | None  # the newest of their edit times (ISO), None when there are none


def pending_edits(
    client: EncordClient, section: ExportSection, project_title: str, states: ExportStates
) -> PendingEdits:
    """What changed since the export's last window, from the metadata alone (one listing)."""
    selection = resolve_selection(client, export_project(client, project_title), section)
    state = states.get(section.name)
    recorded = _recorded(states, section.name) if by_membership(selection) else None
    found = candidates(list_rows(client, selection, state, True), selection, state, recorded)
    edited = [c.edited for c in found if c.placement is Placement.NEW]
    return PendingEdits(len(edited), max(edited).isoformat() if edited else None)


def _write_bundles(
    client: EncordClient,
    section: ExportSection,
    selection: Selection,
    todo: deque[Candidate],
    tracker: WatermarkTracker,
    writer: ShardWriter,
    report: ExportReport,
    collect: Callable[[], object],
    written: list[tuple[str, str]] | None,
) -> tuple[Counter[str], Counter[str]]:
    """Initialise the candidates a bundle at a time and write their rows; `written` gets (label
    hash, listed edit time) of each when the ledger records them. The rows written by label
    status and by stage."""
    statuses: Counter[str] = Counter()
    stages: Counter[str] = Counter()
    while todo:
        batch = [todo.popleft() for _ in range(min(BUNDLE_SIZE, len(todo)))]
        client.initialise_label_rows(
            selection.project.project_hash,
            [candidate.row for candidate in batch],
            object_hashes=selection.object_hashes,
            classification_hashes=selection.classification_hashes,
            signed_urls=section.signed_urls,
        )
        for candidate in batch:
            row, label_hash = candidate.row, str(candidate.row.label_hash)
            label = row.to_encord_dict()
            content = digest(label)
            if candidate.placement is Placement.RECHECK and tracker.unchanged(label_hash, content):
                report.unchanged += 1
                continue
            tracker.add(candidate.edited, label_hash, content)
            if written is not None:
                written.append((label_hash, candidate.edited.isoformat()))
            statuses[str(label.get("label_status"))] += 1
            if row.workflow_graph_node is not None:
                stages[row.workflow_graph_node.title] += 1
            report.objects += len(label.get("object_answers") or {})
            writer.add(label)
        del batch
        collect()  # the bundle's rows are garbage now (cycles): freed before the next bundle
    return statuses, stages


@contextmanager
def _collect_per_bundle() -> Iterator[Callable[[], object]]:
    """Automatic garbage collection paused for the run, a full collection a bundle instead
    (`collect`). What the process held before is frozen meanwhile (`gc.freeze`), so those
    collections walk only the run's own objects; nothing is frozen when the process has frozen
    objects of its own (a pre-fork server). The collector is left as it was, also on error."""
    enabled, freeze = gc.isenabled(), gc.get_freeze_count() == 0
    gc.disable()
    if freeze:
        gc.freeze()
    try:
        yield gc.collect
    finally:
        if freeze:
            gc.unfreeze()
        if enabled:
            gc.enable()


def _recorded(states: ExportStates, export: str) -> Recorded:
    return lambda label_hashes: states.recorded(export, label_hashes)


def _window(state: ExportState, incremental: bool) -> dict[str, Any]:
    return {
        "edited_after": state.edited_through if incremental else None,
        "boundary_label_hashes": sorted(state.boundary) if incremental else [],
    }


def _manifest_body(
    section: ExportSection,
    selection: Selection,
    report: ExportReport,
    pipeline: str,
    tracker: WatermarkTracker,
    clock: Callable[[], datetime],
) -> dict[str, Any]:
    return {
        "export": section.name,
        "pipeline": pipeline,
        "project_hash": selection.project.project_hash,
        "project_title": selection.project.title,
        "format": section.format,
        "mode": section.mode,
        "sequence": report.sequence,
        "window": {**report.window, "boundary_after": sorted(tracker.at_newest)},
        "filters": selection.describe(section),
        "rows": report.rows,
        "rows_by_status": report.rows_by_status,
        "rows_by_stage": report.rows_by_stage,
        "objects": report.objects,
        "unchanged_at_boundary": report.unchanged,
        "written_at": clock().astimezone(UTC).isoformat(),
    }
