"""`export_labels` against the emulator through the real SDK, into a local folder."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

import pytest

from dagster_encord.config import ExportSection
from dagster_encord.encord_client.client import EncordClient
from dagster_encord.exports import export_labels, pending_edits
from dagster_encord.ledger import ExportState, Ledger
from dagster_encord.sources import open_source
from dagster_encord.sources.local import LocalSource
from tests.exports.conftest import Labelled
from tests.exports.labelling import label, rows_by_hash


def export_section(out: Path, **fields: Any) -> ExportSection:
    return ExportSection.model_validate(
        {"name": "all", "format": "json", "destination": out.as_uri(), **fields}
    )


def export(
    client: EncordClient, labelled: Labelled, ledger: Ledger, out: Path, **fields: Any
) -> Any:
    return export_labels(
        client,
        export_section(out, **fields),
        labelled.section.title,
        open_source(out.as_uri()),
        ledger.export_states,
        pipeline="cams",
    )


def json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_json_lines_are_the_sdks_own_dicts_and_the_manifest_comes_last(
    client: EncordClient, labelled: Labelled, ledger: Ledger, tmp_path: Path
) -> None:
    label(labelled.project, labelled.train[:3])
    out = tmp_path / "out"
    report = export(client, labelled, ledger, out, shard_rows=2)
    assert (report.rows, report.shards, report.objects) == (3, 2, 6)
    manifest = json.loads((out / "window-000001" / "_manifest.json").read_text())
    assert [s["rows"] for s in manifest["shards"]] == [2, 1]
    written = json_lines(out / "window-000001/part-00000.jsonl") + json_lines(
        out / "window-000001/part-00001.jsonl"
    )
    expected = {r.label_hash: r.to_encord_dict() for r in rows_by_hash(labelled.project)}
    assert {row["label_hash"]: row for row in written} == {
        row["label_hash"]: json.loads(json.dumps(expected[row["label_hash"]])) for row in written
    }
    assert manifest["rows"] == 3 and manifest["objects"] == 6


def test_coco_shard_equals_the_sdks_export_coco_labels_for_its_rows(
    client: EncordClient, labelled: Labelled, ledger: Ledger, tmp_path: Path
) -> None:
    label(labelled.project, labelled.train, cars=2)
    out = tmp_path / "coco"
    report = export(client, labelled, ledger, out, format="coco", shard_rows=3)
    assert (report.rows, report.shards, report.objects, report.skipped) == (4, 2, 12, [])
    manifest = json.loads((out / "window-000001" / "_manifest.json").read_text())
    for shard in manifest["shards"]:
        document = json.loads((out / shard["key"]).read_text())
        hashes = [Path(image["file_name"]).stem for image in document["images"]]
        label_hashes = [
            str(r.label_hash) for r in labelled.project.list_label_rows_v2(data_hashes=hashes)
        ]
        expected = labelled.project.export_coco_labels(label_hashes=label_hashes)
        assert document == json.loads(json.dumps(expected))
        assert len(document["annotations"]) == shard["rows"] * 3


def test_incremental_exports_only_the_rows_edited_since_the_last_window(
    client: EncordClient, labelled: Labelled, ledger: Ledger, tmp_path: Path
) -> None:
    label(labelled.project, labelled.train)
    out = tmp_path / "inc"
    first = export(client, labelled, ledger, out)
    assert first.rows == 4
    nothing = export(client, labelled, ledger, out)
    assert (nothing.rows, nothing.manifest_url, nothing.sequence) == (0, None, 2)
    assert not (out / "window-000002").exists()

    edited = label(labelled.project, labelled.train[1:2], cars=0)  # one more polygon
    second = export(client, labelled, ledger, out)
    assert (second.sequence, second.rows) == (2, 1)
    (row,) = json_lines(out / "window-000002" / "part-00000.jsonl")
    assert row["label_hash"] == edited[0].label_hash
    assert len(row["object_answers"]) == 3


def test_a_row_completed_without_an_edit_joins_the_stage_filtered_export(
    client: EncordClient, labelled: Labelled, ledger: Ledger, tmp_path: Path
) -> None:
    early, late = label(labelled.project, labelled.train[:2])
    early.workflow_complete()
    out = tmp_path / "complete"
    first = export(client, labelled, ledger, out, stage="Complete", label_statuses=["COMPLETED"])
    assert (first.rows, first.rows_by_stage) == (1, {"Complete": 1})
    label(labelled.project, labelled.train[2:3])  # a later edit moves the watermark past `late`

    late.workflow_complete()  # a task move, no label edit
    sensor = pending_edits(
        client, export_section(out, stage="Complete"), labelled.section.title, ledger.export_states
    )
    assert sensor.rows == 1
    second = export(client, labelled, ledger, out, stage="Complete", label_statuses=["COMPLETED"])
    (row,) = json_lines(out / "window-000002" / "part-00000.jsonl")
    assert (second.rows, row["label_hash"]) == (1, late.label_hash)
    again = export(client, labelled, ledger, out, stage="Complete", label_statuses=["COMPLETED"])
    assert (again.rows, again.manifest_url) == (0, None)


def test_signed_urls_and_object_selection_in_json(
    client: EncordClient, labelled: Labelled, ledger: Ledger, tmp_path: Path
) -> None:
    label(labelled.project, labelled.train[:2], cars=2, people=1)
    out = tmp_path / "signed"
    report = export(client, labelled, ledger, out, signed_urls=True, objects=["person"])
    assert (report.rows, report.objects) == (2, 2)
    for row in json_lines(out / "window-000001" / "part-00000.jsonl"):
        (unit,) = row["data_units"].values()
        assert "X-Amz-Signature=" in unit["data_link"]  # presigned, as Encord signs S3 links
        (person,) = unit["labels"]["objects"]
        assert person["name"] == "person"


def test_automatic_garbage_collection_is_paused_for_the_bundles_and_restored_after(
    client: EncordClient,
    labelled: Labelled,
    ledger: Ledger,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    label(labelled.project, labelled.train)
    while_reading: list[tuple[bool, bool]] = []  # (automatic collection, objects frozen)
    initialise = EncordClient.initialise_label_rows

    def reading(self: EncordClient, *args: Any, **kwargs: Any) -> None:
        while_reading.append((gc.isenabled(), gc.get_freeze_count() > 0))
        initialise(self, *args, **kwargs)

    monkeypatch.setattr(EncordClient, "initialise_label_rows", reading)
    assert export(client, labelled, ledger, tmp_path / "ok").rows == 4
    assert while_reading == [(False, True)]
    assert (gc.isenabled(), gc.get_freeze_count()) == (True, 0)

    def refused(self: LocalSource, key: str, data: bytes, content_type: str | None = None) -> str:
        raise OSError(f"disk full writing {key}")

    monkeypatch.setattr(LocalSource, "write_bytes", refused)
    with pytest.raises(OSError, match="disk full"):  # the first shard, inside the bundle loop
        export(client, labelled, ledger, tmp_path / "full", name="other", shard_rows=1)
    assert (gc.isenabled(), gc.get_freeze_count()) == (True, 0)
    assert ledger.export_states.get("other") == ExportState()
