"""Storage folders and items through the real SDK: create, get, list/find with paging, update,
summary, bulk get/patch, deletion."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from encord import EncordUserClient
from encord.exceptions import AuthorisationError, InvalidArgumentsError
from encord.http.bundle import Bundle
from encord.orm.storage import StorageItemType

from dagster_encord.emulator import EncordEmulator


def register_images(
    client: EncordUserClient, folder, integration: str, count: int, prefix: str = "img"
):  # type: ignore[no-untyped-def]
    spec = {
        "images": [
            {"objectUrl": f"s3://bucket/{prefix}{n:05d}.jpg", "clientMetadata": {"n": n}}
            for n in range(count)
        ]
    }
    job = folder.add_private_data_to_folder_start(integration, spec, ignore_errors=True)
    return folder.add_private_data_to_folder_get_result(job)


def test_folder_lifecycle(encord_user_client: EncordUserClient) -> None:
    client = encord_user_client
    folder = client.create_storage_folder(
        "raw", description="landing", client_metadata={"team": "a"}
    )
    fetched = client.get_storage_folder(folder.uuid)
    assert (fetched.name, fetched.description, fetched.client_metadata) == (
        "raw",
        "landing",
        {"team": "a"},
    )
    child = folder.create_subfolder("child")
    grandchild = child.create_subfolder("grandchild")
    assert [f.name for f in folder.list_subfolders()] == ["child"]
    assert {f.name for f in folder.find_subfolders(search="grand")} == {"grandchild"}
    assert [p.name for p in client.get_storage_folder(grandchild.uuid).path_to_root] == [
        "raw",
        "child",
    ]
    assert [f.name for f in client.find_storage_folders(search="child")] == ["child", "grandchild"]
    folder.update(name="raw-renamed", client_metadata={"team": "b"})
    again = client.get_storage_folder(folder.uuid)
    assert (again.name, again.client_metadata) == ("raw-renamed", {"team": "b"})
    folder.delete()
    with pytest.raises(AuthorisationError):
        client.get_storage_folder(grandchild.uuid)


def test_top_level_folders_page_in_order(encord_user_client: EncordUserClient) -> None:
    for name in ["c", "a", "e", "b", "d"]:
        encord_user_client.create_storage_folder(name)
    names = [f.name for f in encord_user_client.list_storage_folders(page_size=2)]
    assert names == ["a", "b", "c", "d", "e"]
    newest_first = [f.name for f in encord_user_client.list_storage_folders(desc=True, page_size=2)]
    assert newest_first == ["e", "d", "c", "b", "a"]


def test_items_list_find_and_page(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    folder = encord_user_client.create_storage_folder("items")
    sub = folder.create_subfolder("deeper")
    register_images(encord_user_client, folder, encord_integration, 250)
    register_images(encord_user_client, sub, encord_integration, 3, prefix="deep")
    encord_emulator.reset_counters()
    listed = list(folder.list_items(page_size=100))
    assert len(listed) == 250
    assert [i.name for i in listed[:2]] == ["/img00000.jpg", "/img00001.jpg"]
    assert listed[7].client_metadata == {"n": 7}
    assert encord_emulator.counters()["GET /v2/public/storage/folders/{folder_uuid}/items"] == 3
    found = list(folder.find_items(item_types=[StorageItemType.IMAGE], search="deep"))
    assert [i.name for i in found] == ["/deep00000.jpg", "/deep00001.jpg", "/deep00002.jpg"]
    summary = folder.get_summary()
    assert (summary.files, summary.images, summary.folders, summary.upload_jobs) == (250, 250, 1, 1)


def test_bulk_get_preserves_order_and_denies_unknown(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    folder = encord_user_client.create_storage_folder("bulk")
    result = register_images(encord_user_client, folder, encord_integration, 1000)
    uuids = [str(i.item_uuid) for i in result.items_with_names][::-1]
    encord_emulator.reset_counters()
    items = encord_user_client.get_storage_items(uuids)
    assert [str(i.uuid) for i in items] == uuids
    assert encord_emulator.counters() == {"POST /v2/public/storage/items/get-bulk": 1}
    with pytest.raises(AuthorisationError):
        encord_user_client.get_storage_items([uuids[0], "00000000-0000-4000-8000-00000000dead"])


def test_bundled_patch_of_1000_items_is_one_request(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    folder = encord_user_client.create_storage_folder("patch")
    register_images(encord_user_client, folder, encord_integration, 1000)
    items = list(folder.list_items(page_size=1000))
    encord_emulator.reset_counters()
    with Bundle() as bundle:
        for item in items:
            item.update(
                client_metadata={"split": "train", "n": item.client_metadata["n"]}, bundle=bundle
            )
    assert encord_emulator.counters() == {"PATCH /v2/public/storage/items/patch-bulk": 1}
    assert items[5].client_metadata == {"split": "train", "n": 5}
    assert encord_user_client.get_storage_item(items[999].uuid).client_metadata == {
        "split": "train",
        "n": 999,
    }


def test_single_update_and_delete(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    folder = encord_user_client.create_storage_folder("single")
    result = register_images(encord_user_client, folder, encord_integration, 3)
    item = encord_user_client.get_storage_item(result.items_with_names[0].item_uuid)
    item.update(name="renamed.jpg", client_metadata={"k": "v"})
    fetched = encord_user_client.get_storage_item(item.uuid, sign_url=True)
    assert (fetched.name, fetched.client_metadata) == ("renamed.jpg", {"k": "v"})
    # s3://bucket/img00000.jpg, presigned in S3's form
    assert (fetched.get_signed_url() or "").startswith(
        "https://bucket.s3.amazonaws.com/img00000.jpg?"
    )
    folder.delete_storage_items([item.uuid])
    assert len(list(folder.list_items())) == 2
    with pytest.raises(AuthorisationError):
        encord_user_client.get_storage_item(item.uuid)


def test_bad_folder_input_names_the_field(encord_user_client: EncordUserClient) -> None:
    with pytest.raises(InvalidArgumentsError, match="name"):
        encord_user_client.create_storage_folder("")


def _signed_patch(domain: str, ssh_key: str, path: str, body: dict[str, Any]) -> requests.Response:
    """A PATCH signed the way the SDK signs, with a body the SDK would never send."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from encord.http.v2.request_signer import sign_request

    private = serialization.load_ssh_private_key(ssh_key.encode(), None)
    assert isinstance(private, Ed25519PrivateKey)
    key_id = (
        private.public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        .hex()
    )
    prepared = requests.Request("PATCH", f"{domain}{path}", json=body).prepare()
    return requests.Session().send(sign_request(prepared, key_id, private), timeout=10)


def test_bad_patches_name_the_field_and_change_nothing(
    encord_emulator: EncordEmulator,
    encord_user_client: EncordUserClient,
    encord_ssh_key: str,
    encord_integration: str,
) -> None:
    folder = encord_user_client.create_storage_folder("patched")
    registered = register_images(encord_user_client, folder, encord_integration, 1)
    item_uuid = registered.items_with_names[0].item_uuid
    item_name = encord_user_client.get_storage_item(item_uuid).name
    folder_path = f"/v2/public/storage/folders/{folder.uuid}"
    item_path = f"{folder_path}/items/{item_uuid}"

    for path, allowed in (
        (folder_path, "clientMetadata, description, name"),
        (item_path, "clientMetadata, description, name, sceneLayout"),
    ):
        response = _signed_patch(encord_emulator.domain, encord_ssh_key, path, {"colour": "red"})
        assert response.status_code == 400
        message = response.json()["message"]
        assert "request body: unknown field 'colour'" in message
        assert f"(allowed: {allowed}" in message
        # A valid name followed by an invalid field: the name is not applied either.
        bad = {"name": "renamed", "clientMetadata": 5}
        response = _signed_patch(encord_emulator.domain, encord_ssh_key, path, bad)
        assert response.status_code == 400
        assert "request body.clientMetadata must be" in response.json()["message"]
        response = _signed_patch(encord_emulator.domain, encord_ssh_key, path, {"name": ""})
        assert response.status_code == 400
        assert "request body.name must be a non-empty string" in response.json()["message"]

    assert encord_user_client.get_storage_folder(folder.uuid).name == "patched"
    assert encord_user_client.get_storage_item(item_uuid).name == item_name
