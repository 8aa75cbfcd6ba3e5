"""`sync_project` against the emulator through the real SDK (no Dagster)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from encord import EncordUserClient

from dagster_encord.annotation.project import project_coverage, sync_project
from dagster_encord.config import ProjectSection
from dagster_encord.emulator import DEFAULT_WORKFLOW_TEMPLATE_UUID, EncordEmulator
from dagster_encord.encord_client.client import EncordClient, RequestSettings
from dagster_encord.errors import EncordNotFoundError, OntologyError, ProjectError
from tests.annotation.helpers import dataset_with_images, writes

ONTOLOGY = """
objects:
  - {name: car, shape: bounding_box}
  - {name: person, shape: polygon}
classifications:
  - {name: weather, options: [sunny, rain]}
"""
UNKNOWN = "11111111-1111-4111-a111-111111111111"


@pytest.fixture(autouse=True)
def every_call_routed(encord_emulator: EncordEmulator) -> Iterator[None]:
    yield
    assert [k for k in encord_emulator.counters() if k.startswith("unrouted")] == []


@pytest.fixture
def client(encord_emulator: EncordEmulator, encord_ssh_key: str) -> EncordClient:
    return EncordClient.from_ssh_key(
        encord_ssh_key, domain=encord_emulator.domain, settings=RequestSettings(max_retries=0)
    )


@pytest.fixture
def ontology_file(tmp_path: Path) -> Path:
    path = tmp_path / "ontology.yaml"
    path.write_text(ONTOLOGY, encoding="utf-8")
    return path


def section(ontology: Path | str, **fields: Any) -> ProjectSection:
    return ProjectSection(title="cams-labelling", ontology=str(ontology), **fields)


def test_created_with_ontology_template_and_datasets_then_a_rerun_writes_nothing(
    client: EncordClient,
    encord_emulator: EncordEmulator,
    encord_user_client: EncordUserClient,
    encord_integration: str,
    ontology_file: Path,
) -> None:
    _, train_units = dataset_with_images(encord_user_client, encord_integration, "train", 3)
    _, val_units = dataset_with_images(encord_user_client, encord_integration, "val", 2)
    config = section(
        ontology_file,
        workflow_template=DEFAULT_WORKFLOW_TEMPLATE_UUID,
        datasets=["train", "val"],
    )
    report = sync_project(client, config)
    assert report.created and report.ontology.created
    project = encord_user_client.get_project(report.project.project_hash)
    assert project.title == "cams-labelling"
    assert sorted(d.title for d in project.list_datasets()) == ["train", "val"]
    ontology = encord_user_client.get_ontology(project.ontology_hash)
    assert ontology.title == "cams-labelling"
    assert [o.name for o in ontology.structure.objects] == ["car", "person"]
    assert report.tasks_by_stage() == {"Annotate 1": 5, "Review 1": 0, "Complete": 0}
    assert sorted(r.data_hash for r in report.label_rows) == sorted(train_units + val_units)
    assert ([d.title for d in report.attached], report.unlisted) == (["train", "val"], [])

    encord_emulator.reset_counters()
    again = sync_project(client, config)
    assert writes(encord_emulator.counters()) == {}
    assert (again.created, again.writes, again.project.project_hash) == (
        False,
        0,
        report.project.project_hash,
    )
    assert project_coverage(client, config).missing == []


def test_datasets_attached_later_unlisted_reported_and_detached_only_when_asked(
    client: EncordClient,
    encord_user_client: EncordUserClient,
    encord_integration: str,
    ontology_file: Path,
) -> None:
    dataset_with_images(encord_user_client, encord_integration, "train", 1)
    val, val_units = dataset_with_images(encord_user_client, encord_integration, "val", 2)
    extra, _ = dataset_with_images(encord_user_client, encord_integration, "extra", 1)
    first = sync_project(client, section(ontology_file, datasets=["train"]))
    project = encord_user_client.get_project(first.project.project_hash)
    project.add_datasets([extra])  # attached in the app, not in the configuration

    report = sync_project(client, section(ontology_file, datasets=["train", val]))
    assert [d.title for d in report.attached] == ["val"]  # given by hash, titled from Encord
    assert [(d.dataset_hash, d.title) for d in report.unlisted] == [(extra, "extra")]
    assert report.detached == []
    assert sorted(d.title for d in project.list_datasets()) == ["extra", "train", "val"]
    assert report.label_rows_by_status()["NOT_LABELLED"] == 4

    detached = sync_project(
        client, section(ontology_file, datasets=["train", "val"], detach_unlisted=True)
    )
    assert [d.title for d in detached.detached] == ["extra"]
    assert sorted(d.title for d in project.list_datasets()) == ["train", "val"]

    project.remove_datasets([val])
    coverage = project_coverage(client, section(ontology_file, datasets=["train", "val"]))
    assert (coverage.units, sorted(coverage.missing)) == (3, val_units)


def test_ontology_updates_are_additive_and_removal_needs_allow_removals(
    client: EncordClient,
    encord_emulator: EncordEmulator,
    encord_user_client: EncordUserClient,
    ontology_file: Path,
) -> None:
    first = sync_project(client, section(ontology_file))
    ontology_hash = first.project.ontology_hash
    car_hash = encord_user_client.get_ontology(ontology_hash).structure.objects[0].feature_node_hash

    ontology_file.write_text(ONTOLOGY + "  - {name: time of day, options: [day, night]}\n")
    added = sync_project(client, section(ontology_file))
    assert added.ontology.saved and added.ontology.plan is not None
    assert added.ontology.plan.added == ["classification 'time of day'"]
    structure = encord_user_client.get_ontology(ontology_hash).structure
    assert [c.attributes[0].name for c in structure.classifications] == ["weather", "time of day"]
    assert structure.objects[0].feature_node_hash == car_hash

    without_person = ONTOLOGY.replace("  - {name: person, shape: polygon}\n", "")
    ontology_file.write_text(without_person + "  - {name: time of day, options: [day, night]}\n")
    encord_emulator.reset_counters()
    refused = sync_project(client, section(ontology_file))
    assert refused.ontology.plan is not None
    assert (refused.ontology.saved, refused.ontology.plan.kept) == (False, ["object 'person'"])
    assert writes(encord_emulator.counters()) == {}
    assert [o.name for o in encord_user_client.get_ontology(ontology_hash).structure.objects] == [
        "car",
        "person",
    ]

    removed = sync_project(client, section(ontology_file, allow_removals=True))
    assert removed.ontology.plan is not None and removed.ontology.plan.removed == [
        "object 'person'"
    ]
    assert [o.name for o in encord_user_client.get_ontology(ontology_hash).structure.objects] == [
        "car"
    ]

    ontology_file.write_text("objects: [{name: car, shape: polygon}]\n")
    with pytest.raises(OntologyError, match="a feature's shape cannot change"):
        sync_project(client, section(ontology_file))


def test_an_ontology_hash_is_checked_not_edited(
    client: EncordClient, encord_user_client: EncordUserClient, ontology_file: Path
) -> None:
    ontology = client.create_ontology(
        "shared", {"objects": [], "classifications": []}
    ).ontology_hash
    report = sync_project(client, section(ontology))
    assert report.project.ontology_hash == ontology and report.ontology.plan is None
    with pytest.raises(EncordNotFoundError, match=f"ontology {UNKNOWN}: no such ontology"):
        sync_project(client, section(UNKNOWN))
    other = client.create_ontology("other", {"objects": [], "classifications": []}).ontology_hash
    with pytest.raises(ProjectError, match=f"uses ontology {ontology}, the configuration names"):
        sync_project(client, section(other))


def test_configuration_mistakes_get_clear_errors(
    client: EncordClient, encord_user_client: EncordUserClient, ontology_file: Path
) -> None:
    with pytest.raises(EncordNotFoundError, match=f"refused workflow template {UNKNOWN}"):
        sync_project(client, section(ontology_file, workflow_template=UNKNOWN))
    with pytest.raises(ProjectError, match="no Encord dataset is titled 'nope'"):
        sync_project(client, section(ontology_file, datasets=["nope"]))

    sync_project(client, section(ontology_file))  # a manual QA project
    with pytest.raises(ProjectError, match="is a manual QA project and Encord cannot make it"):
        sync_project(
            client, section(ontology_file, workflow_template=DEFAULT_WORKFLOW_TEMPLATE_UUID)
        )
    encord_user_client.create_project("cams-labelling", [])
    with pytest.raises(ProjectError, match="2 Encord projects are titled 'cams-labelling'"):
        sync_project(client, section(ontology_file))
