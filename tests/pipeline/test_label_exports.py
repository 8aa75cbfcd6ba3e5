"""Label exports end to end: files registered from moto, linked into datasets, the project
created, rows labelled through the SDK (`LabelRowV2`, boxes and polygons, some completed), then
exported to moto as Encord JSON and COCO by `run_pipeline`, and again by the label-edit sensor."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from encord import EncordUserClient
from encord.objects import Object

from dagster_encord.config import pipeline_config
from dagster_encord.dagster.export_assets import export_key
from dagster_encord.dagster.runner import RunSummary, run_pipeline
from dagster_encord.emulator import DEFAULT_WORKFLOW_TEMPLATE_UUID
from dagster_encord.quickstart.sample_media import png
from tests.exports.conftest import ONTOLOGY
from tests.exports.labelling import label, rows_by_hash
from tests.pipeline.harness import KEY_ENV, Harness

SIZES = [(64, 48), (32, 32), (80, 40), (16, 24), (40, 30), (20, 10)]


@pytest.fixture(autouse=True)
def every_call_routed(harness: Harness) -> Iterator[None]:
    yield
    assert [k for k in harness.emulator.counters() if k.startswith("unrouted")] == []


def configured(harness: Harness, ontology: Path) -> dict[str, Any]:
    bucket = f"s3://{harness.bucket}"
    return harness.config(
        datasets=[
            {"title": "cams-train", "include": ["cams/[0-3].png"]},
            {"title": "cams-val", "include": ["cams/[4-5].png"]},
        ],
        project={
            "title": "cams-labelling",
            "ontology": str(ontology),
            "workflow_template": DEFAULT_WORKFLOW_TEMPLATE_UUID,
            "datasets": ["cams-train", "cams-val"],
        },
        exports=[
            {"name": "rows", "format": "json", "destination": f"{bucket}/exports/rows/"},
            {
                "name": "coco_complete",
                "format": "coco",
                "destination": f"{bucket}/exports/coco_complete/",
                "label_statuses": ["COMPLETED"],
                "stage": "Complete",
                "objects": ["car"],
            },
        ],
    )


def run(harness: Harness, config: dict[str, Any]) -> RunSummary:
    summary = run_pipeline(pipeline_config(config), harness.instance, max_seconds=120)
    assert summary.ok, summary
    return summary


def read(harness: Harness, key: str) -> bytes:
    s3 = boto3.client("s3", endpoint_url=harness.endpoint)
    return bytes(s3.get_object(Bucket=harness.bucket, Key=key)["Body"].read())


def keys(harness: Harness, prefix: str) -> list[str]:
    s3 = boto3.client("s3", endpoint_url=harness.endpoint)
    listed = s3.list_objects_v2(Bucket=harness.bucket, Prefix=prefix)
    return sorted(o["Key"] for o in listed.get("Contents", []))


def test_json_and_coco_exports_to_moto_then_the_edit_sensor_exports_one_edited_row(
    harness: Harness, tmp_path: Path
) -> None:
    harness.put({f"cams/{i}.png": png(w, h, (i, 9, 9)) for i, (w, h) in enumerate(SIZES)})
    ontology = tmp_path / "ontology.yaml"
    ontology.write_text(ONTOLOGY)
    config = configured(harness, ontology)
    first = run(harness, config)
    assert first.later["label_exports/rows"]["rows"] == 0  # nothing labelled yet
    assert keys(harness, "exports/") == []

    user = EncordUserClient.create_with_ssh_private_key(
        os.environ[KEY_ENV], domain=harness.emulator.domain
    )
    (project,) = user.list_projects(title_eq="cams-labelling")
    project = user.get_project(project.project_hash)
    train = sorted(
        r.data_hash for r in project.list_label_rows_v2() if r.dataset_title == "cams-train"
    )
    labelled = label(project, train, cars=2, people=1)
    for row in labelled[:2]:
        row.workflow_complete()

    second = run(harness, config)
    assert second.counts.registered == 6  # the exports written into the bucket are not media
    assert second.later["label_exports/rows"]["rows"] == 4
    assert second.later["label_exports/coco_complete"]["rows"] == 2
    assert keys(harness, "exports/rows/") == [
        "exports/rows/window-000001/_manifest.json",
        "exports/rows/window-000001/part-00000.jsonl",
    ]
    expected = {r.label_hash: r.to_encord_dict() for r in rows_by_hash(project, train)}
    lines = read(harness, "exports/rows/window-000001/part-00000.jsonl").decode().splitlines()
    assert sorted(json.loads(line)["label_hash"] for line in lines) == sorted(
        str(r.label_hash) for r in labelled
    )
    for line in lines:
        row = json.loads(line)
        assert row == json.loads(json.dumps(expected[row["label_hash"]]))

    coco = json.loads(read(harness, "exports/coco_complete/window-000001/part-00000.json"))
    completed = [str(r.label_hash) for r in labelled[:2]]
    car = project.ontology_structure.get_child_by_title("car", type_=Object).feature_node_hash
    sdk = project.export_coco_labels(label_hashes=completed, include_object_feature_hashes={car})
    assert coco == json.loads(json.dumps(sdk))
    sizes = {(image["width"], image["height"]) for image in coco["images"]}
    assert sizes <= set(SIZES) and len(coco["annotations"]) == 4  # two cars, no people
    manifest = json.loads(read(harness, "exports/coco_complete/window-000001/_manifest.json"))
    assert manifest["rows_by_stage"] == {"Complete": 2}
    assert manifest["filters"]["objects"] == ["car"]

    # The label-edit sensor: quiet until a row changes, then one run with that row alone.
    driver = harness.driver(harness.defs(**{k: v for k, v in config.items() if k != "name"}))
    quiet = driver.evaluate("label_edits_rows")
    assert quiet is not None and not quiet.run_requests
    edited = label(project, [labelled[3].data_hash], cars=1, people=0)
    changed = driver.evaluate("label_edits_rows")
    assert changed is not None and len(changed.run_requests or []) == 1
    assert driver.materialize(export_key(harness.names, "rows")).success
    (line,) = read(harness, "exports/rows/window-000002/part-00000.jsonl").decode().splitlines()
    assert json.loads(line)["label_hash"] == edited[0].label_hash
    assert len(json.loads(line)["object_answers"]) == 4
