"""`EncordClient`'s ontology and project calls against the emulator through the real SDK."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from encord import EncordUserClient

from dagster_encord.emulator import DEFAULT_WORKFLOW_TEMPLATE_UUID, EncordEmulator
from dagster_encord.encord_client.client import EncordClient, RequestSettings
from dagster_encord.encord_client.projects import DatasetRef, StageRef
from dagster_encord.errors import EncordError, EncordNotFoundError
from tests.annotation.helpers import dataset_with_images

CAR = {
    "id": "1",
    "name": "car",
    "color": "#D33115",
    "shape": "bounding_box",
    "featureNodeHash": "carcarca",
    "required": False,
    "archived": False,
}
UNKNOWN = "11111111-1111-4111-a111-111111111111"


@pytest.fixture(autouse=True)
def every_call_routed(encord_emulator: EncordEmulator) -> Iterator[None]:
    yield
    assert [k for k in encord_emulator.counters() if k.startswith("unrouted")] == []


@pytest.fixture
def client(encord_emulator: EncordEmulator, encord_ssh_key: str) -> EncordClient:
    return EncordClient.from_ssh_key(
        encord_ssh_key,
        domain=encord_emulator.domain,
        settings=RequestSettings(max_retries=0, backoff_factor=0.01),
    )


def test_ontology_create_find_save_and_unknown_hash(client: EncordClient) -> None:
    structure = {"objects": [CAR], "classifications": []}
    created = client.create_ontology("cams", structure)
    client.create_ontology("cams-old", structure)
    assert created.structure["objects"] == [CAR]
    assert [o.ontology_hash for o in client.find_ontologies("cams")] == [created.ontology_hash]
    assert client.find_ontologies("cam") == []

    bus = {**CAR, "id": "2", "name": "bus", "featureNodeHash": "busbusbu"}
    saved = client.save_ontology(
        created.ontology_hash, {"objects": [CAR, bus], "classifications": []}
    )
    assert [o["name"] for o in saved.structure["objects"]] == ["car", "bus"]
    assert client.get_ontology(created.ontology_hash).title == "cams"  # title kept

    with pytest.raises(EncordNotFoundError, match=f"ontology {UNKNOWN}: no such ontology"):
        client.get_ontology(UNKNOWN)
    with pytest.raises(EncordError, match=re.escape("structure (missing field 'shape')")):
        client.create_ontology("bad", {"objects": [{"name": "no shape"}], "classifications": []})


def test_workflow_project_datasets_and_label_rows(
    client: EncordClient, encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    train, train_units = dataset_with_images(encord_user_client, encord_integration, "train", 2)
    val, val_units = dataset_with_images(encord_user_client, encord_integration, "val", 1)
    ontology = client.create_ontology("o", {"objects": [CAR], "classifications": []})
    project_hash = client.create_project(
        "cams", [train], ontology.ontology_hash, DEFAULT_WORKFLOW_TEMPLATE_UUID
    )
    (found,) = client.find_projects("cams")
    assert (found.project_hash, found.ontology_hash, found.is_workflow) == (
        project_hash,
        ontology.ontology_hash,
        True,
    )
    assert found.stages == (
        StageRef("00000000-0000-4000-a000-000000000011", "Annotate 1", "ANNOTATION"),
        StageRef("00000000-0000-4000-a000-000000000012", "Review 1", "REVIEW"),
        StageRef("00000000-0000-4000-a000-000000000013", "Complete", "DONE"),
    )
    assert client.find_projects("cam") == []
    assert client.find_datasets("val") == [DatasetRef(val, "val")]
    assert client.dataset_data_hashes(val) == val_units

    client.add_project_datasets(project_hash, [val])
    assert sorted(d.title for d in client.project_datasets(project_hash)) == ["train", "val"]
    rows = client.project_label_rows(project_hash)
    assert sorted(r.data_hash for r in rows) == sorted(train_units + val_units)
    assert {(r.label_hash, r.label_status, r.stage_title) for r in rows} == {
        (None, None, "Annotate 1")
    }
    client.remove_project_datasets(project_hash, [val])
    assert [d.title for d in client.project_datasets(project_hash)] == ["train"]


def test_manual_project_rows_have_a_label_status(
    client: EncordClient, encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    train, units = dataset_with_images(encord_user_client, encord_integration, "train", 2)
    ontology = client.create_ontology("o", {"objects": [CAR], "classifications": []})
    project_hash = client.create_project("manual", [train], ontology.ontology_hash)
    project = client.get_project(project_hash)
    assert (project.is_workflow, project.stages) == (False, ())
    rows = client.project_label_rows(project_hash)
    assert sorted(r.data_hash for r in rows) == units
    assert {(r.label_status, r.stage_uuid) for r in rows} == {("NOT_LABELLED", None)}


def test_unknown_workflow_template_is_named(client: EncordClient) -> None:
    ontology = client.create_ontology("o", {"objects": [CAR], "classifications": []})
    with pytest.raises(EncordNotFoundError, match=f"refused workflow template {UNKNOWN}"):
        client.create_project("p", [], ontology.ontology_hash, UNKNOWN)
    assert client.find_projects("p") == []
