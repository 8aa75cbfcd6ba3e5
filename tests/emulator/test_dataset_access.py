"""Dataset roles through the SDK: a dataset is visible to the users given a role on it, and only
its admins link, unlink or edit rows (403 AUTHORISATION_ERROR otherwise)."""

from __future__ import annotations

import pytest
from encord import EncordUserClient
from encord.exceptions import AuthorisationError
from encord.orm.dataset import DatasetUserRole, StorageLocation

from dagster_encord.emulator import EncordEmulator
from tests.emulator.test_storage import register_images

OTHER = "other@example.com"


def _other_user(emulator: EncordEmulator) -> EncordUserClient:
    key = emulator.new_ssh_key(user=OTHER)
    return EncordUserClient.create_with_ssh_private_key(key, domain=emulator.domain)


def test_a_dataset_is_visible_only_to_users_with_a_role(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    owner = encord_user_client
    folder = owner.create_storage_folder("f")
    items = register_images(owner, folder, encord_integration, 2).items_with_names
    created = owner.create_dataset("shared", StorageLocation.AWS, create_backing_folder=False)
    dataset = owner.get_dataset(created.dataset_hash)
    dataset.link_items([items[0].item_uuid])
    other = _other_user(encord_emulator)

    assert other.get_datasets(title_eq="shared") == []
    with pytest.raises(AuthorisationError):
        other.get_dataset(created.dataset_hash)

    added = dataset.add_users([OTHER], DatasetUserRole.USER)
    assert [(u.user_email, u.user_role) for u in added] == [(OTHER, DatasetUserRole.USER)]
    (listed,) = other.get_datasets(title_eq="shared")
    assert listed["user_role"] == DatasetUserRole.USER
    assert owner.get_datasets(title_eq="shared")[0]["user_role"] == DatasetUserRole.ADMIN
    as_user = other.get_dataset(created.dataset_hash)
    (row,) = as_user.list_data_rows()
    with pytest.raises(AuthorisationError):
        as_user.link_items([items[1].item_uuid])
    with pytest.raises(AuthorisationError):
        as_user.delete_data([row.uid])

    dataset.add_users([OTHER], DatasetUserRole.ADMIN)
    assert len(as_user.link_items([items[1].item_uuid])) == 1
    as_user.delete_data([row.uid])
    assert [r.backing_item_uuid for r in owner.get_dataset(created.dataset_hash).data_rows] == [
        items[1].item_uuid
    ]
