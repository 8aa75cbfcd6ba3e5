"""The `project:` section: described fields, clear errors, its ontology file found by the YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from dagster_encord.config import ProjectSection, load_pipeline_config, pipeline_config
from dagster_encord.errors import ConfigError

TEMPLATE = "00000000-0000-4000-a000-000000000001"
ONTOLOGY_HASH = "5b1e7f5a-1c2d-4e3f-9a8b-7c6d5e4f3a2b"


def pipeline(**project: Any) -> dict[str, Any]:
    return {
        "name": "cams",
        "encord": {"ssh_private_key_env": "ENCORD_SSH_KEY"},
        "source": {"url": "s3://bucket"},
        "registration": {"folder": "landing", "integration": "my-s3"},
        "project": {"title": "cams-labelling", "ontology": "ontology.yaml", **project},
    }


def test_every_field_is_described() -> None:
    assert all(field.description for field in ProjectSection.model_fields.values())


def test_defaults() -> None:
    project = pipeline_config(pipeline()).project
    assert project is not None
    assert (project.workflow_template, project.datasets) == (None, [])
    assert (project.detach_unlisted, project.allow_removals) == (False, False)
    assert project.ontology_file == "ontology.yaml"


@pytest.mark.parametrize(
    ("project", "message"),
    [
        ({"detatch_unlisted": True}, "project.detatch_unlisted: unknown field"),
        (
            {"workflow_template": "standard"},
            "project.workflow_template: expected a workflow template uuid (Encord: Workflows > "
            "Templates), got 'standard'",
        ),
        ({"datasets": ["a", "b", "a"]}, "project.datasets: each dataset once, got 'a' twice"),
        ({"datasets": "cams-train"}, "project.datasets: Input should be a valid list"),
        ({"title": " "}, "project.title: expected a non-empty string"),
    ],
)
def test_bad_sections_name_the_field(project: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        pipeline_config(pipeline(**project), origin="pipeline.yaml")
    assert message in str(raised.value)


def test_ontology_file_resolves_against_the_yaml_folder(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "pipeline.yaml"
    path.write_text(yaml.safe_dump(pipeline(datasets=["cams-train"])))
    with pytest.raises(
        ConfigError, match=r"project\.ontology: file .*/conf/ontology\.yaml does not exist"
    ):
        load_pipeline_config(path)
    (tmp_path / "conf" / "ontology.yaml").write_text("objects: [{name: car, shape: point}]\n")
    project = load_pipeline_config(path).project
    assert project is not None
    assert project.ontology == str(tmp_path / "conf" / "ontology.yaml")


def test_an_ontology_hash_is_not_a_file(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(pipeline(ontology=ONTOLOGY_HASH, workflow_template=TEMPLATE)))
    project = load_pipeline_config(path).project
    assert project is not None
    assert (project.ontology, project.ontology_file) == (ONTOLOGY_HASH, None)
