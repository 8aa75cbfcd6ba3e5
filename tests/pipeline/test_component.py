"""The YAML component builds the same pipeline as the factory, with the key taken from EnvVar."""

from __future__ import annotations

import dagster as dg
import pytest

from dagster_encord.dagster.component import EncordIngestionComponent
from dagster_encord.errors import EncordAuthError
from tests.pipeline.harness import KEY_ENV, Harness


def component_defs(component: EncordIngestionComponent) -> dg.Definitions:
    return component.build_defs(dg.ComponentTree.for_test().load_context)


def test_component_from_yaml_registers_files(harness: Harness) -> None:
    from dagster_encord.quickstart.sample_media import png

    harness.put({"yaml/a.png": png(2, 2, (5, 5, 5)), "yaml/b.png": png(2, 2, (6, 6, 6))})
    component = EncordIngestionComponent.resolve_from_yaml(
        f"""
name: cams
source: s3://{harness.bucket}
source_options:
  endpoint_url: {harness.endpoint}
folder: {harness.folder_uuid}
integration: test-s3
ledger_url: {harness.ledger_url}
encord:
  domain: {harness.emulator.domain}
  ssh_private_key_env: {KEY_ENV}
planner:
  budget: {{image: 500}}
"""
    )
    defs = component_defs(component)
    assert {key.to_user_string() for key in defs.resolve_all_asset_keys()} >= {
        "cams/bucket_listing",
        "cams/manifest_chunks",
        "cams/upload_jobs",
        "cams/registered_files",
    }
    runs = harness.tick(defs, "new_objects")
    assert runs and all(run.success for run in runs)
    assert len(harness.emulator.items(harness.folder_uuid)) == 2


def test_component_without_credentials_names_the_fix() -> None:
    component = EncordIngestionComponent.resolve_from_yaml(
        "name: x\nsource: file:///tmp\nfolder: f\nintegration: i\n"
    )
    with pytest.raises(EncordAuthError, match="ssh_private_key_env"):
        component_defs(component)
