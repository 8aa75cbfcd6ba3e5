"""Bad export input: a clear error naming the field and the valid values, and nothing written."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from encord.objects import Object
from encord.objects.coordinates import PointCoordinate, PolygonCoordinates
from pydantic import ValidationError

from dagster_encord.config import ExportSection, pipeline_config
from dagster_encord.encord_client.client import EncordClient
from dagster_encord.errors import ConfigError, ExportError, SourceError
from dagster_encord.exports import export_labels
from dagster_encord.ledger import ExportState, Ledger
from dagster_encord.sources import open_source
from tests.exports.conftest import Labelled
from tests.exports.labelling import label, rows_by_hash
from tests.exports.test_export_run import export, export_section


def section(out: Path, **fields: Any) -> ExportSection:
    return export_section(out, **{"name": "x", **fields})


def run(client: EncordClient, labelled: Labelled, ledger: Ledger, out: Path, **fields: Any) -> Any:
    return export(client, labelled, ledger, out, **{"name": "x", **fields})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"stage": "Done"},
            "exports[x].stage: 'Done' is not one of the stages: 'Annotate 1', 'Complete', "
            "'Review 1'",
        ),
        (
            {"objects": ["car", "bus"]},
            "exports[x].objects: 'bus' is not one of the objects in the project's ontology: "
            "'car', 'person', 'sign'",
        ),
        (
            {"classifications": ["time"]},
            "exports[x].classifications: 'time' is not one of the classifications in the "
            "project's ontology: 'weather'",
        ),
        (
            {"datasets": ["test"]},
            "exports[x].datasets: 'test' is not one of the datasets attached: 'train', 'val'",
        ),
        (
            {"label_statuses": ["LABELLED"]},
            "exports[x].label_statuses: LABELLED are label statuses of manual QA projects; "
            "workflow project 'cams-labelling' has task statuses",
        ),
    ],
)
def test_unknown_names_list_the_valid_ones_and_nothing_is_written(
    client: EncordClient,
    labelled: Labelled,
    ledger: Ledger,
    tmp_path: Path,
    fields: dict[str, Any],
    message: str,
) -> None:
    label(labelled.project, labelled.train[:1])
    with pytest.raises(ExportError) as raised:
        run(client, labelled, ledger, tmp_path / "out", **fields)
    assert message in str(raised.value)
    assert not (tmp_path / "out").exists()
    assert ledger.export_states.get("x") == ExportState()


def test_unknown_project_says_to_materialize_encord_project_first(
    client: EncordClient, ledger: Ledger, tmp_path: Path
) -> None:
    with pytest.raises(ExportError, match="'nope' does not exist in Encord yet: materialize"):
        export_labels(
            client,
            section(tmp_path),
            "nope",
            open_source(tmp_path.as_uri()),
            ledger.export_states,
            pipeline="cams",
        )


def test_unknown_status_and_bad_schedule_are_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="unknown label status 'DONE': use annotation task"):
        section(tmp_path, label_statuses=["DONE"])
    with pytest.raises(ValidationError, match="is not a cron schedule: five fields"):
        section(tmp_path, schedule="hourly")
    with pytest.raises(ValidationError, match="a credential cannot be written"):
        section(tmp_path, options={"secret_access_key": "x"})


def test_exports_need_a_project_and_their_own_folder() -> None:
    base = {
        "name": "cams",
        "encord": {"ssh_private_key_env": "K"},
        "source": {"url": "s3://cams", "prefix": "raw/"},
        "registration": {"folder": "landing", "integration": "s3"},
        "exports": [{"name": "all", "format": "json", "destination": "s3://cams/"}],
    }
    with pytest.raises(ConfigError, match="exports: exports read the project's labels"):
        pipeline_config(base)
    with_project = {**base, "project": {"title": "p", "ontology": "o.yaml"}}
    with pytest.raises(ConfigError, match="destination s3://cams/ holds the files the source"):
        pipeline_config(with_project)


def test_a_missing_destination_bucket_fails_with_the_sources_error_and_keeps_the_watermark(
    client: EncordClient,
    labelled: Labelled,
    ledger: Ledger,
    s3_server: str,
) -> None:
    label(labelled.project, labelled.train[:2])
    url = "s3://no-such-export-bucket/labels/"
    with pytest.raises(SourceError, match="no-such-export-bucket"):
        export_labels(
            client,
            ExportSection(name="x", format="json", destination=url),
            labelled.section.title,
            open_source(url, endpoint_url=s3_server),
            ledger.export_states,
            pipeline="cams",
        )
    assert ledger.export_states.get("x") == ExportState()


def test_coco_without_the_extra_names_the_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from dagster_encord.exports import coco_exporter

    monkeypatch.setitem(sys.modules, "encord.utilities.coco.exporter", None)
    with pytest.raises(ExportError, match=r"pip install 'dagster-encord\[coco\]'"):
        coco_exporter()


def test_a_row_the_coco_exporter_cannot_convert_is_skipped_with_its_reason(
    client: EncordClient, labelled: Labelled, ledger: Ledger, tmp_path: Path
) -> None:
    label(labelled.project, labelled.train[:3])
    (bad,) = rows_by_hash(labelled.project, labelled.train[3:4])
    person = labelled.project.ontology_structure.get_child_by_title("person", type_=Object)
    line = person.create_instance()  # two points: no polygon COCO can hold
    line.set_for_frames(
        PolygonCoordinates([PointCoordinate(0.1, 0.1), PointCoordinate(0.2, 0.2)]), frames=0
    )
    bad.add_object_instance(line)
    bad.save()
    report = run(client, labelled, ledger, tmp_path / "out", format="coco")
    assert report.rows == 3
    assert [s.label_hash for s in report.skipped] == [bad.label_hash]
    assert report.skipped[0].reason.startswith("COCO conversion failed: ")
