"""Cloud-synced folders, bulk limits, malformed upload bodies and legacy data-row metadata."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest
from encord import EncordUserClient
from encord.exceptions import InvalidArgumentsError
from encord.http.bundle import Bundle
from encord.orm.dataset import DatasetAccessSettings, StorageLocation
from encord.orm.storage import CloudSyncedFolderParams

from dagster_encord.emulator import EncordEmulator
from tests.emulator.test_storage import register_images


def test_cloud_synced_folder_sync_registers_new_files(tmp_path: Path, encord_ssh_key: str) -> None:
    (tmp_path / "bucket" / "photos").mkdir(parents=True)
    for name in ("a.jpg", "b.png", "notes.bin"):
        (tmp_path / "bucket" / "photos" / name).write_bytes(b"12345")
    with EncordEmulator(local_root=tmp_path) as emulator:
        key = emulator.new_ssh_key()
        integration = emulator.add_integration("synced", "s3")
        client = EncordUserClient.create_with_ssh_private_key(key, domain=emulator.domain)
        params = CloudSyncedFolderParams(
            integration_uuid=UUID(integration), remote_url="s3://bucket/photos/"
        )
        folder = client.create_storage_folder("synced", cloud_synced_folder_params=params)
        assert folder.is_cloud_synced
        sync = folder.sync_private_data_with_cloud_synced_folder_start()
        result = folder.sync_private_data_with_cloud_synced_folder_get_result(sync)
        assert (result.status.value, result.upload_jobs_units_done) == ("done", 2)
        assert sorted(i.url for i in folder.list_items()) == [
            "s3://bucket/photos/a.jpg",
            "s3://bucket/photos/b.png",
        ]
        again = folder.sync_private_data_with_cloud_synced_folder_start()
        assert (
            folder.sync_private_data_with_cloud_synced_folder_get_result(
                again
            ).upload_jobs_units_done
            == 0
        )
        plain = client.create_storage_folder("plain")
        with pytest.raises(InvalidArgumentsError, match="not a cloud-synced folder"):
            plain.sync_private_data_with_cloud_synced_folder_start()


def test_bulk_patch_over_1000_items_is_refused_and_changes_nothing(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    folder = encord_user_client.create_storage_folder("limit")
    register_images(encord_user_client, folder, encord_integration, 1001)
    items = list(folder.list_items(page_size=1000))
    with (
        pytest.raises(InvalidArgumentsError, match=r"1001 items; the limit is 1000"),
        Bundle(bundle_size=1001) as bundle,
    ):
        for item in items:
            item.update(client_metadata={"x": 1}, bundle=bundle)
    assert encord_user_client.get_storage_item(items[0].uuid).client_metadata == {"n": 0}


def test_malformed_upload_body(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    folder = encord_user_client.create_storage_folder("malformed")
    with pytest.raises(InvalidArgumentsError, match=r"images\[0\] must be an object"):
        folder.add_private_data_to_folder_start(
            encord_integration, '{"images": [["s3://b/a.jpg"]]}'
        )
    with pytest.raises(InvalidArgumentsError, match=r"externalFiles\.images must be a list"):
        folder.add_private_data_to_folder_start(
            encord_integration, {"images": {"objectUrl": "s3://b/a.jpg"}}
        )
    with pytest.raises(InvalidArgumentsError, match="not a cloud integration"):
        folder.add_private_data_to_folder_start(
            "00000000-0000-4000-8000-000000000000", {"images": [{"objectUrl": "s3://b/a.jpg"}]}
        )


def test_data_row_metadata_through_the_legacy_dataset_api(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    folder = encord_user_client.create_storage_folder("rows")
    result = register_images(encord_user_client, folder, encord_integration, 2)
    created = encord_user_client.create_dataset("rows", StorageLocation.AWS)
    dataset = encord_user_client.get_dataset(created.dataset_hash)
    dataset.link_items([i.item_uuid for i in result.items_with_names])
    dataset.set_access_settings(DatasetAccessSettings(fetch_client_metadata=True))
    row = sorted(dataset.data_rows, key=lambda r: r.title)[0]
    row.client_metadata = {"reviewed": True}
    row.save()
    assert encord_user_client.get_storage_item(row.backing_item_uuid).client_metadata == {
        "reviewed": True
    }
    row.refetch_data(client_metadata=True)
    assert dict(row.client_metadata) == {"reviewed": True}


def test_local_root_checks_real_cloud_urls_and_checking_can_be_off(tmp_path: Path) -> None:
    (tmp_path / "bucket" / "img").mkdir(parents=True)
    (tmp_path / "bucket" / "img" / "here.jpg").write_bytes(b"123")
    spec = {
        "images": [
            {"objectUrl": "https://bucket.s3.eu-west-2.amazonaws.com/img/here.jpg"},
            {"objectUrl": "s3://bucket/img/absent.jpg"},
        ]
    }
    for verify, expected_errors in ((True, [["s3://bucket/img/absent.jpg"]]), (False, [])):
        with EncordEmulator(local_root=tmp_path, verify_objects=verify) as emulator:
            client = EncordUserClient.create_with_ssh_private_key(
                emulator.new_ssh_key(), domain=emulator.domain
            )
            folder = client.create_storage_folder("rooted")
            integration = emulator.add_integration("b")
            job = folder.add_private_data_to_folder_start(integration, spec, ignore_errors=True)
            result = folder.add_private_data_to_folder_get_result(job)
            assert [e.object_urls for e in result.unit_errors] == expected_errors
            sizes = {i.url: i.file_size for i in folder.list_items()}
            if verify:
                assert sizes == {"https://bucket.s3.eu-west-2.amazonaws.com/img/here.jpg": 3}
