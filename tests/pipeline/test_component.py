"""The YAML component and the Python factory read one model and build the same Definitions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from dagster_encord.config import load_pipeline_config
from dagster_encord.dagster.component import EncordPipeline
from dagster_encord.dagster.factory import build_encord_ingestion
from dagster_encord.dagster.resources import EncordResource
from dagster_encord.quickstart.sample_media import png
from tests.pipeline.harness import Harness

SCHEMA_YAML = "keys:\n  split: {enum: [train, val]}\n"


def component_defs(component: EncordPipeline, folder: Path) -> dg.Definitions:
    context = dg.ComponentTree.for_test().load_context.for_path(folder)
    return component.build_defs(context)


def _shape(defs: dg.Definitions) -> dict[str, Any]:
    """Everything a user sees of a pipeline: asset keys, checks, jobs, sensors, resources."""
    repository = defs.get_repository_def()
    return {
        "assets": sorted(key.to_user_string() for key in defs.resolve_all_asset_keys()),
        "checks": sorted(str(key) for key in defs.resolve_asset_graph().asset_check_keys),
        "jobs": sorted(job.name for job in repository.get_all_jobs()),
        "sensors": sorted(
            (sensor.name, sensor.minimum_interval_seconds, str(sensor.default_status))
            for sensor in repository.sensor_defs
        ),
        "resources": sorted(repository.get_top_level_resources()),
        "descriptions": sorted(
            (spec.key.to_user_string(), spec.description or "")
            for spec in defs.resolve_all_asset_specs()
        ),
    }


def _attributes(harness: Harness) -> dict[str, Any]:
    config = harness.config(planner={"budget": {"image": 500}})
    config["metadata"] = {"schema": "schema.yaml", "sidecar": "append"}
    config["sensors"] = {"running": True, "interval_seconds": 7}
    config["project"] = {"title": "cams-labelling", "ontology": "ontology.yaml"}
    config["exports"] = [
        {
            "name": "rows",
            "format": "json",
            "destination": f"s3://{harness.bucket}/exports/rows/",
            "options": {"endpoint_url": harness.endpoint, "secret_access_key_env": "AWS_KEY"},
            "label_statuses": ["COMPLETED"],
            "schedule": "0 * * * *",
        }
    ]
    return config


def test_yaml_and_python_build_identical_definitions(harness: Harness, tmp_path: Path) -> None:
    (tmp_path / "schema.yaml").write_text(SCHEMA_YAML)
    (tmp_path / "ontology.yaml").write_text("objects: [{name: car, shape: bounding_box}]\n")
    attributes = _attributes(harness)
    pipeline_yaml = tmp_path / "pipeline.yaml"
    pipeline_yaml.write_text(
        yaml.safe_dump({"type": "dagster_encord.EncordPipeline", "attributes": attributes})
    )
    from_yaml = component_defs(
        EncordPipeline.resolve_from_yaml(yaml.safe_dump(attributes)), tmp_path
    )
    python_config = {
        **attributes,
        "metadata": {"schema": str(tmp_path / "schema.yaml")},
        "project": {"title": "cams-labelling", "ontology": str(tmp_path / "ontology.yaml")},
    }
    from_python = build_encord_ingestion(python_config)
    from_file = build_encord_ingestion(load_pipeline_config(pipeline_yaml))
    shape = _shape(from_python)
    assert shape == _shape(from_yaml) == _shape(from_file)
    assert "cams/metadata_upserts" in shape["assets"]  # the schema file was found relative
    assert "cams/label_exports/rows" in shape["assets"] and "cams__export_rows" in shape["jobs"]
    assert ("cams__label_edits_rows", 300, "DefaultSensorStatus.RUNNING") in shape["sensors"]
    assert ("cams__new_objects", 7, "DefaultSensorStatus.RUNNING") in shape["sensors"]
    assert shape["resources"] == ["encord", "ledger"]


def test_component_from_yaml_registers_files(harness: Harness, tmp_path: Path) -> None:
    harness.put({"yaml/a.png": png(2, 2, (5, 5, 5)), "yaml/b.png": png(2, 2, (6, 6, 6))})
    component = EncordPipeline.resolve_from_yaml(yaml.safe_dump(harness.config()))
    defs = component_defs(component, tmp_path)
    runs = harness.tick(defs, "new_objects")
    assert runs and all(run.success for run in runs)
    assert len(harness.emulator.items(harness.folder_uuid)) == 2


def test_component_resource_has_every_encord_field(harness: Harness, tmp_path: Path) -> None:
    config = harness.config(
        encord={"max_retries": 7, "backoff_factor": 0.5, "connect_timeout": 4, "read_timeout": 9}
    )
    defs = component_defs(EncordPipeline.resolve_from_yaml(yaml.safe_dump(config)), tmp_path)
    resource = (defs.resources or {})["encord"]
    assert isinstance(resource, EncordResource)
    assert (resource.max_retries, resource.backoff_factor) == (7, 0.5)
    assert (resource.connect_timeout, resource.read_timeout) == (4, 9)
    assert resource.domain == harness.emulator.domain


def test_component_without_credentials_names_the_fix() -> None:
    with pytest.raises(Exception, match="ssh_private_key_env"):
        EncordPipeline.resolve_from_yaml(
            "name: x\nencord: {}\nsource: {url: 'file:///tmp'}\n"
            "registration: {folder: f, integration: i}\n"
        )
