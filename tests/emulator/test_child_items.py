"""Frames of image groups, image sequences and DICOM series as child items, through the real SDK:
`StorageItem.get_child_items()`, per-frame metadata by Bundle patch, groups built from existing
image items (`imageGroupsFromItems`), deletion, moves and persistence."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest
from encord import EncordUserClient
from encord.exceptions import AuthorisationError, InvalidArgumentsError
from encord.http.bundle import Bundle
from encord.orm.storage import (
    CustomerProvidedImageMetadata,
    DataUploadImage,
    DataUploadImageGroup,
    DataUploadImageGroupFromItems,
    DataUploadImageGroupImage,
    DataUploadItems,
)
from encord.storage import StorageFolder

from dagster_encord.emulator import EncordEmulator

S3 = "https://bucket.s3.eu-west-2.amazonaws.com"


def register(folder: StorageFolder, integration: str, spec: object) -> dict[str, str]:
    job = folder.add_private_data_to_folder_start(integration, spec, ignore_errors=False)  # type: ignore[arg-type]
    result = folder.add_private_data_to_folder_get_result(job)
    assert result.status.value == "DONE", result
    return {i.name: str(i.item_uuid) for i in result.items_with_names}


GROUPS = {
    "image_groups": [
        {
            "title": "group",
            "clientMetadata": {"site": "A"},
            "objectUrl_1": f"{S3}/g/2.jpg",  # out of order: frames follow the numbers
            "objectUrl_0": f"{S3}/g/1.jpg",
        },
        {"title": "sequence", "createVideo": True, "objectUrl_0": f"{S3}/s/1.jpg"},
    ],
    "dicom_series": [
        {"title": "series", "objectUrl_0": f"{S3}/d/1.dcm", "objectUrl_1": f"{S3}/d/2.dcm"}
    ],
    "images": [{"objectUrl": f"{S3}/single.jpg"}],
}


def test_group_frames_are_child_items_with_their_own_metadata(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    folder = encord_user_client.create_storage_folder("groups")
    uuids = register(folder, encord_integration, GROUPS)
    # Listings show the groups, not their frames.
    assert sorted(i.name for i in folder.list_items()) == [
        "/single.jpg",
        "group",
        "sequence",
        "series",
    ]

    group = encord_user_client.get_storage_item(uuids["group"])
    frames = list(group.get_child_items())
    assert [f.url for f in frames] == [f"{S3}/g/1.jpg", f"{S3}/g/2.jpg"]
    assert [f.name for f in frames] == ["/g/1.jpg", "/g/2.jpg"]
    assert {f.item_type.value for f in frames} == {"image"}
    assert len({f.uuid for f in frames} | {group.uuid}) == 3
    assert all(f.parent_folder_uuid == folder.uuid for f in frames)
    assert [f.client_metadata for f in frames] == [{}, {}]  # metadata is per group at upload
    assert group.client_metadata == {"site": "A"}
    assert [
        f.url for f in encord_user_client.get_storage_item(uuids["sequence"]).get_child_items()
    ] == [f"{S3}/s/1.jpg"]
    series = list(encord_user_client.get_storage_item(uuids["series"]).get_child_items())
    assert [(f.item_type.value, f.url) for f in series] == [
        ("dicomFile", f"{S3}/d/1.dcm"),
        ("dicomFile", f"{S3}/d/2.dcm"),
    ]
    assert list(encord_user_client.get_storage_item(uuids["/single.jpg"]).get_child_items()) == []

    # Per-frame metadata (seed 003): bulk-patch the child items, read them back.
    with Bundle() as bundle:
        for index, frame in enumerate(frames):
            frame.update(client_metadata={"frame": index}, bundle=bundle)
    again = list(encord_user_client.get_storage_item(uuids["group"]).get_child_items())
    assert [f.client_metadata for f in again] == [{"frame": 0}, {"frame": 1}]
    by_bulk = encord_user_client.get_storage_items([str(f.uuid) for f in frames])
    assert [f.client_metadata for f in by_bulk] == [{"frame": 0}, {"frame": 1}]
    assert encord_user_client.get_storage_item(uuids["group"]).client_metadata == {"site": "A"}

    # Re-registering the same groups with skip_duplicate_urls creates no group and no frame.
    assert register(folder, encord_integration, {**GROUPS, "skip_duplicate_urls": True}) == uuids
    assert [
        f.uuid for f in encord_user_client.get_storage_item(uuids["group"]).get_child_items()
    ] == [f.uuid for f in frames]


def test_data_items_frames_keep_their_titles_and_image_metadata(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    folder = encord_user_client.create_storage_folder("data-items")
    spec = DataUploadItems(
        image_groups=[
            DataUploadImageGroup(
                title="ig",
                images=[
                    DataUploadImageGroupImage(
                        url=f"{S3}/ig/1.png",
                        title="first",
                        image_metadata=CustomerProvidedImageMetadata(
                            mime_type="image/png", file_size=10, height=48, width=64
                        ),
                    ),
                    DataUploadImageGroupImage(url=f"{S3}/ig/2.png"),
                ],
            )
        ]
    )
    uuids = register(folder, encord_integration, spec)
    frames = list(encord_user_client.get_storage_item(uuids["ig"]).get_child_items())
    assert [(f.name, f.width, f.mime_type) for f in frames] == [
        ("first", 64, "image/png"),
        ("/ig/2.png", None, "image/png"),
    ]


def test_image_group_from_existing_items(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    folder = encord_user_client.create_storage_folder("from-items")
    images = register(
        folder,
        encord_integration,
        DataUploadItems(images=[DataUploadImage(object_url=f"{S3}/f/{n}.jpg") for n in range(3)]),
    )
    picked = [UUID(images["/f/2.jpg"]), UUID(images["/f/0.jpg"])]
    groups = register(
        folder,
        encord_integration,
        DataUploadItems(
            image_groups_from_items=[
                DataUploadImageGroupFromItems(
                    image_items=picked, title="picked", client_metadata={"k": 1}, create_video=False
                )
            ]
        ),
    )
    group = encord_user_client.get_storage_item(groups["picked"])
    assert (group.item_type.value, group.client_metadata) == ("imageGroup", {"k": 1})
    assert [f.uuid for f in group.get_child_items()] == picked  # the items themselves, in order

    # Deleting a group built from items keeps the items; they were not its own frames.
    folder.delete_storage_items([group.uuid])
    assert [
        str(i.uuid) for i in encord_user_client.get_storage_items([str(u) for u in picked])
    ] == [str(u) for u in picked]

    missing = "00000000-0000-4000-8000-000000000000"
    bad = DataUploadItems(
        image_groups_from_items=[
            DataUploadImageGroupFromItems(
                image_items=[picked[0], UUID(missing)], title="bad", create_video=False
            )
        ]
    )
    with pytest.raises(InvalidArgumentsError, match=r"imageGroupsFromItems\[0\]\.imageItems\[1\]"):
        folder.add_private_data_to_folder_start(encord_integration, bad)


def test_deleting_and_moving_a_group_takes_its_frames(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    folder = encord_user_client.create_storage_folder("a")
    target = encord_user_client.create_storage_folder("b")
    uuids = register(folder, encord_integration, GROUPS)
    group = encord_user_client.get_storage_item(uuids["group"])
    frame_uuids = [str(f.uuid) for f in group.get_child_items()]

    group.move_to_folder(target.uuid)
    moved = list(encord_user_client.get_storage_item(uuids["group"]).get_child_items())
    assert [str(f.uuid) for f in moved] == frame_uuids
    assert {f.parent_folder_uuid for f in moved} == {target.uuid}

    target.delete_storage_items([UUID(uuids["group"])])
    for frame_uuid in frame_uuids:
        with pytest.raises(AuthorisationError):
            encord_user_client.get_storage_item(frame_uuid)
    series = encord_user_client.get_storage_item(uuids["series"])
    series_frames = [str(f.uuid) for f in series.get_child_items()]
    folder.delete()
    with pytest.raises(AuthorisationError):
        encord_user_client.get_storage_items(series_frames[:1])


def test_frames_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "encord.sqlite"
    with EncordEmulator(state_path=state) as first:
        key = first.new_ssh_key()
        integration = first.add_integration("bucket", "s3")
        client = EncordUserClient.create_with_ssh_private_key(key, domain=first.domain)
        folder = client.create_storage_folder("kept")
        uuids = register(folder, integration, GROUPS)
        frames = list(client.get_storage_item(uuids["group"]).get_child_items())
        frames[1].update(client_metadata={"frame": 1})
    with EncordEmulator(state_path=state) as second:
        client = EncordUserClient.create_with_ssh_private_key(key, domain=second.domain)
        again = list(client.get_storage_item(uuids["group"]).get_child_items())
        assert [(f.uuid, f.client_metadata) for f in again] == [
            (frames[0].uuid, {}),
            (frames[1].uuid, {"frame": 1}),
        ]
        assert len(second.items()) == 4  # frames are not top-level items
