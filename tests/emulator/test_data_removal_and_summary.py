"""`dataset.delete_data` and `item.get_summary()` through the real SDK."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from encord import EncordUserClient
from encord.orm.dataset import StorageLocation
from encord.workflow import AnnotationStage

from dagster_encord.emulator import DEFAULT_WORKFLOW_TEMPLATE_UUID, EncordEmulator
from tests.emulator.test_datasets_projects import make_dataset


@pytest.fixture(autouse=True)
def every_call_routed(encord_emulator: EncordEmulator) -> Iterator[None]:
    yield
    assert [k for k in encord_emulator.counters() if k.startswith("unrouted")] == []


def test_delete_data_removes_rows_label_rows_and_tasks(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    client = encord_user_client
    dataset, rows = make_dataset(client, encord_integration, 3)
    project = client.get_project(
        client.create_project(
            "p", [dataset.dataset_hash], workflow_template_hash=DEFAULT_WORKFLOW_TEMPLATE_UUID
        )
    )
    with project.create_bundle() as bundle:
        for label_row in project.list_label_rows_v2():
            label_row.initialise_labels(bundle=bundle)
    assert encord_emulator.describe()["labelRows"] == 3
    by_title = {r.title: r for r in rows}
    gone = by_title["/img00001.jpg"]

    dataset.delete_data([gone.uid])

    assert sorted(r.title for r in client.get_dataset(dataset.dataset_hash).data_rows) == [
        "/img00000.jpg",
        "/img00002.jpg",
    ]
    assert sorted(r.data_title for r in project.list_label_rows_v2()) == [
        "/img00000.jpg",
        "/img00002.jpg",
    ]
    assert encord_emulator.describe()["labelRows"] == 2
    annotate = project.workflow.get_stage(name="Annotate 1", type_=AnnotationStage)
    assert sorted(t.data_title for t in annotate.get_tasks()) == ["/img00000.jpg", "/img00002.jpg"]
    item = client.get_storage_item(gone.backing_item_uuid)
    assert item.backed_data_units_count == 0  # the storage item itself stays


def test_item_summary_lists_datasets_and_groups(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    client = encord_user_client
    folder = client.create_storage_folder("groups")
    spec = {
        "image_groups": [
            {"title": "g", "objectUrl_0": "s3://b/1.jpg", "objectUrl_1": "s3://b/2.jpg"}
        ]
    }
    job = folder.add_private_data_to_folder_start(encord_integration, spec)
    group_uuid = folder.add_private_data_to_folder_get_result(job).items_with_names[0].item_uuid
    created = client.create_dataset("with-group", StorageLocation.AWS)
    (row,) = client.get_dataset(created.dataset_hash).link_items([group_uuid])

    group = client.get_storage_item(group_uuid)
    summary = group.get_summary()
    assert (summary.used_in_datasets, summary.frame_in_groups) == (1, 0)
    (used_in,) = summary.accessible_datasets
    assert (used_in.dataset_hash, used_in.title) == (created.dataset_hash, "with-group")
    assert [str(h) for h in used_in.data_hashes] == [row.uid]

    frame = next(iter(group.get_child_items()))
    frame_summary = frame.get_summary()
    assert (frame_summary.used_in_datasets, frame_summary.frame_in_groups) == (0, 1)
    (holder,) = frame_summary.accessible_group_items
    assert (holder.uuid, holder.name, holder.parent_name) == (group_uuid, "g", "groups")
