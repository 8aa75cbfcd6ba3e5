"""The emulator's read-only HTML view: what a `folder` link in the Dagster UI opens."""

from __future__ import annotations

import urllib.error
import urllib.request

from encord import EncordUserClient

from dagster_encord.emulator import DEFAULT_WORKFLOW_TEMPLATE_UUID, EncordEmulator
from tests.emulator.test_datasets_projects import make_dataset


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_view_shows_folders_datasets_and_projects(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    dataset, rows = make_dataset(encord_user_client, encord_integration, 2)
    project_hash = encord_user_client.create_project(
        "labelling <cams>",
        [dataset.dataset_hash],
        workflow_template_hash=DEFAULT_WORKFLOW_TEMPLATE_UUID,
    )
    domain = encord_emulator.domain
    status, index = _get(f"{domain}/view")
    assert status == 200
    assert "for-dataset" in index and ">ds<" in index
    assert "labelling &lt;cams&gt;" in index and "<cams>" not in index  # escaped
    folder_uuid = next(f.uuid for f in encord_emulator.folders() if f.name == "for-dataset")
    status, folder = _get(f"{domain}/view/folders/{folder_uuid}")
    assert status == 200 and "2 items" in folder and "img00001.jpg" in folder
    status, dataset_page = _get(f"{domain}/view/datasets/{dataset.dataset_hash}")
    assert status == 200 and "2 data rows" in dataset_page
    assert rows[0].uid in dataset_page
    status, project = _get(f"{domain}/view/projects/{project_hash}")
    assert status == 200 and "workflow project" in project
    # Both data units wait in the first stage of the default template.
    assert "<td>Annotate 1</td><td>2</td>" in project
    assert "<td>Review 1</td><td>0</td>" in project
    status, missing = _get(f"{domain}/view/folders/00000000-0000-4000-8000-00000000dead")
    assert status == 404 and "folder not found" in missing
    assert encord_emulator.counters()["view GET /view/folders/{uuid}"] == 2
