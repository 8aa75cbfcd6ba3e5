"""A labelled workflow project on the emulator, and a local destination folder."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from encord import EncordUserClient
from encord.project import Project

from dagster_encord.annotation.project import sync_project
from dagster_encord.config import ProjectSection
from dagster_encord.emulator import DEFAULT_WORKFLOW_TEMPLATE_UUID, EncordEmulator
from dagster_encord.encord_client.client import EncordClient, RequestSettings
from dagster_encord.ledger import Ledger
from tests.annotation.helpers import dataset_with_images

ONTOLOGY = """
objects:
  - {name: car, shape: bounding_box}
  - {name: person, shape: polygon}
  - {name: sign, shape: point}
classifications:
  - {name: weather, options: [sunny, rain]}
"""


@dataclass
class Labelled:
    project: Project
    section: ProjectSection
    train: list[str]
    val: list[str]


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
def labelled(
    client: EncordClient,
    encord_user_client: EncordUserClient,
    encord_integration: str,
    tmp_path: Path,
) -> Labelled:
    _, train = dataset_with_images(encord_user_client, encord_integration, "train", 4)
    _, val = dataset_with_images(encord_user_client, encord_integration, "val", 2)
    ontology = tmp_path / "ontology.yaml"
    ontology.write_text(ONTOLOGY, encoding="utf-8")
    section = ProjectSection(
        title="cams-labelling",
        ontology=str(ontology),
        workflow_template=DEFAULT_WORKFLOW_TEMPLATE_UUID,
        datasets=["train", "val"],
    )
    report = sync_project(client, section)
    project = encord_user_client.get_project(report.project.project_hash)
    return Labelled(project, section, train, val)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}", pipeline="cams")
    yield ledger
    ledger.close()
