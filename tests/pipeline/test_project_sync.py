"""`encord_project` end to end: files registered from moto into the emulator, datasets made with
the SDK (the datasets section is another asset), then the project synced by `run_pipeline`."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from encord import EncordUserClient
from encord.orm.dataset import StorageLocation

from dagster_encord.config import pipeline_config
from dagster_encord.dagster.runner import RunSummary, run_pipeline
from dagster_encord.emulator import DEFAULT_WORKFLOW_TEMPLATE_UUID
from dagster_encord.quickstart.sample_media import png
from tests.annotation.helpers import writes
from tests.pipeline.harness import KEY_ENV, Harness

ONTOLOGY = """
objects:
  - {name: car, shape: bounding_box}
  - {name: person, shape: polygon}
classifications:
  - {name: weather, options: [sunny, rain]}
"""


@pytest.fixture(autouse=True)
def every_call_routed(harness: Harness) -> Iterator[None]:
    yield
    assert [k for k in harness.emulator.counters() if k.startswith("unrouted")] == []


def user_client(harness: Harness) -> EncordUserClient:
    return EncordUserClient.create_with_ssh_private_key(
        os.environ[KEY_ENV], domain=harness.emulator.domain
    )


def register_into_datasets(harness: Harness, user: EncordUserClient) -> dict[str, str]:
    """Five files registered by the pipeline, then split into two datasets with the SDK."""
    harness.put({f"cams/{i}.png": png(2, 2, (i, 0, 0)) for i in range(5)})
    assert run(harness).counts.registered == 5
    items = sorted(harness.emulator.items(harness.folder_uuid), key=lambda item: item.url or "")
    hashes = {}
    for title, members in (("cams-train", items[:3]), ("cams-val", items[3:])):
        created = user.create_dataset(title, StorageLocation.AWS, create_backing_folder=False)
        user.get_dataset(created.dataset_hash).link_items([item.uuid for item in members])
        hashes[title] = created.dataset_hash
    return hashes


def run(harness: Harness, **overrides: Any) -> RunSummary:
    return run_pipeline(
        pipeline_config(harness.config(**overrides)), harness.instance, max_seconds=120
    )


def project_section(ontology: Path, **fields: Any) -> dict[str, Any]:
    return {
        "title": "cams-labelling",
        "ontology": str(ontology),
        "workflow_template": DEFAULT_WORKFLOW_TEMPLATE_UUID,
        "datasets": ["cams-train", "cams-val"],
        **fields,
    }


def latest(harness: Harness) -> dict[str, Any]:
    event = harness.instance.get_latest_materialization_event(harness.names.key("encord_project"))
    assert event is not None and event.asset_materialization is not None
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def test_project_created_with_both_datasets_tasks_in_the_first_stage_and_a_quiet_rerun(
    harness: Harness, tmp_path: Path
) -> None:
    user = user_client(harness)
    register_into_datasets(harness, user)
    ontology = tmp_path / "ontology.yaml"
    ontology.write_text(ONTOLOGY)

    summary = run(harness, project=project_section(ontology))
    assert summary.ok, summary
    assert summary.report.checks["units_have_label_rows"] is True
    (project,) = user.list_projects(title_eq="cams-labelling")
    assert sorted(d.title for d in project.list_datasets()) == ["cams-train", "cams-val"]
    assert [o.name for o in project.ontology_structure.objects] == ["car", "person"]
    first_stage = project.workflow.stages[0]
    assert (first_stage.title, len(list(first_stage.get_tasks()))) == ("Annotate 1", 5)
    metadata = latest(harness)
    assert metadata["created"] is True
    assert (metadata["datasets"], metadata["datasets_attached"]) == (2, 2)
    assert (metadata["tasks_annotate_1"], metadata["tasks_review_1"]) == (5, 0)
    assert metadata["tasks_complete"] == 0
    assert (metadata["label_rows"], metadata["label_rows_started"]) == (5, 0)
    assert metadata["ontology_features_added"] == 3
    link = metadata["project"]
    assert link == f"{harness.emulator.domain}/view/projects/{project.project_hash}"
    with urllib.request.urlopen(link, timeout=30) as page:  # a person can open it
        assert "<td>Annotate 1</td><td>5</td>" in page.read().decode()

    harness.emulator.reset_counters()
    again = run(harness, project=project_section(ontology))
    assert again.ok and writes(harness.emulator.counters()) == {}
    metadata = latest(harness)
    assert (metadata["created"], metadata["encord_writes"]) == (False, 0)
    assert metadata["project_hash"] == str(project.project_hash)


def test_unlisted_datasets_and_ontology_edits(harness: Harness, tmp_path: Path) -> None:
    user = user_client(harness)
    register_into_datasets(harness, user)
    ontology = tmp_path / "ontology.yaml"
    ontology.write_text(ONTOLOGY)
    assert run(harness, project=project_section(ontology)).ok
    (project,) = user.list_projects(title_eq="cams-labelling")
    other = user.create_dataset("other", StorageLocation.AWS, create_backing_folder=False)
    project.add_datasets([other.dataset_hash])  # attached in the app, not configured

    # A feature added to the file, one dropped from it: added, and kept (not removed).
    ontology.write_text(
        ONTOLOGY.replace(
            "  - {name: person, shape: polygon}\n", "  - {name: bus, shape: polygon}\n"
        )
    )
    summary = run(harness, project=project_section(ontology))
    assert summary.ok, summary
    metadata = latest(harness)
    assert (metadata["datasets_unlisted"], metadata["datasets_detached"]) == (1, 0)
    assert "other" in metadata["unlisted_datasets"]
    assert (metadata["ontology_features_added"], metadata["ontology_features_not_in_file"]) == (
        1,
        1,
    )
    names = [o.name for o in user.get_ontology(project.ontology_hash).structure.objects]
    assert names == ["car", "person", "bus"]
    assert sorted(d.title for d in project.list_datasets()) == ["cams-train", "cams-val", "other"]

    summary = run(
        harness,
        project=project_section(ontology, detach_unlisted=True, allow_removals=True),
    )
    assert summary.ok, summary
    metadata = latest(harness)
    assert (metadata["datasets_detached"], metadata["ontology_features_removed"]) == (1, 1)
    assert sorted(d.title for d in project.list_datasets()) == ["cams-train", "cams-val"]
    names = [o.name for o in user.get_ontology(project.ontology_hash).structure.objects]
    assert names == ["car", "bus"]


def test_a_configuration_error_fails_the_step_with_its_message(
    harness: Harness, tmp_path: Path
) -> None:
    ontology = tmp_path / "ontology.yaml"
    ontology.write_text(ONTOLOGY)
    summary = run(harness, project=project_section(ontology, datasets=["missing"]))
    assert summary.failed_steps == ["encord_project"]
    failures = [
        event.dagster_event.step_failure_data.error.to_string()
        for run_record in harness.instance.get_runs()
        for event in harness.instance.all_logs(
            run_record.run_id, of_type=dg.DagsterEventType.STEP_FAILURE
        )
        if event.dagster_event is not None
    ]
    assert len(failures) == 1
    assert "project.datasets: no Encord dataset is titled 'missing'" in failures[0]


def test_the_component_finds_the_ontology_next_to_its_yaml(
    harness: Harness, tmp_path: Path
) -> None:
    from dagster_encord.dagster.component import EncordPipeline
    from tests.pipeline.test_component import component_defs

    (tmp_path / "ontology.yaml").write_text(ONTOLOGY)
    attributes = harness.config(project={"title": "p", "ontology": "ontology.yaml"})
    defs = component_defs(EncordPipeline.resolve_from_yaml(yaml.safe_dump(attributes)), tmp_path)
    project_key = harness.names.key("encord_project")
    graph = defs.resolve_asset_graph()
    assert graph.get(project_key).parent_keys == {harness.names.key("registered_files")}
    assert {key.name for key in graph.asset_check_keys if key.asset_key == project_key} == {
        "units_have_label_rows"
    }
    (spec,) = [s for s in defs.resolve_all_asset_specs() if s.key == project_key]
    assert spec.group_name == "cams"


def test_the_project_follows_the_datasets_asset_when_the_pipeline_has_one(
    harness: Harness, tmp_path: Path
) -> None:
    from dagster_encord.dagster.factory import build_encord_ingestion

    (tmp_path / "ontology.yaml").write_text(ONTOLOGY)
    datasets_key = harness.names.key("encord_datasets")

    @dg.asset(key=datasets_key)
    def encord_datasets() -> None: ...

    defs = build_encord_ingestion(
        harness.config(project={"title": "p", "ontology": str(tmp_path / "ontology.yaml")}),
        extra_definitions=[dg.Definitions(assets=[encord_datasets])],
    )
    parents = defs.resolve_asset_graph().get(harness.names.key("encord_project")).parent_keys
    assert parents == {harness.names.key("registered_files"), datasets_key}


def test_a_user_without_the_admin_role_gets_a_clear_error(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from encord.orm.dataset import DatasetUserRole
    from encord.utilities.project_user import ProjectUserRole

    owner = user_client(harness)
    hashes = register_into_datasets(harness, owner)
    ontology = tmp_path / "ontology.yaml"
    ontology.write_text(ONTOLOGY)
    section = project_section(ontology, datasets=["cams-train"])
    assert run(harness, project=section).ok
    # A second user: admin of both datasets, only an annotator on the project.
    other = "annotator@example.com"
    monkeypatch.setenv("SECOND_USER_KEY", harness.emulator.new_ssh_key(user=other))
    for dataset_hash in hashes.values():
        owner.get_dataset(dataset_hash).add_users([other], DatasetUserRole.ADMIN)
    (project,) = owner.list_projects(title_eq="cams-labelling")
    owner.get_project(project.project_hash).add_users([other], ProjectUserRole.ANNOTATOR)
    summary = run(
        harness,
        encord={"ssh_private_key_env": "SECOND_USER_KEY"},
        project=project_section(ontology),  # attaching cams-val needs the admin role
    )
    assert summary.failed_steps == ["encord_project"]
    failures = [
        event.dagster_event.step_failure_data.error.to_string()
        for run_record in harness.instance.get_runs()
        for event in harness.instance.all_logs(
            run_record.run_id, of_type=dg.DagsterEventType.STEP_FAILURE
        )
        if event.dagster_event is not None
    ]
    assert len(failures) == 1
    assert (
        "attaching 1 datasets to project 'cams-labelling': not found or not visible to this user"
        in failures[0]
    )
    assert "that the key's user has access" in failures[0]
    assert os.environ["SECOND_USER_KEY"].splitlines()[1] not in failures[0]
