"""`EncordClient`'s dataset calls against the emulator through the real SDK: find by exact title,
create without a backing folder, link (SKIP duplicates), list, unlink, delete storage items, and
the errors a user can act on (two datasets with one title, no admin role)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from encord import EncordUserClient
from encord.orm.dataset import DatasetUserRole, StorageLocation

from dagster_encord.encord_client.client import EncordClient
from dagster_encord.encord_client.datasets import BATCH_LIMIT, DatasetRow
from dagster_encord.errors import EncordAmbiguousError, EncordPermissionError
from tests.metadata.helpers import register_images

if TYPE_CHECKING:
    from dagster_encord.emulator import EncordEmulator

LINK = "legacy datasetlinkitems.POST"
OTHER = "other@example.com"


def test_find_create_link_list_unlink(
    client: EncordClient, folder: str, encord_integration: str, encord_emulator: EncordEmulator
) -> None:
    items = list(register_images(client, folder, encord_integration, 3).values())
    assert client.find_dataset("train") is None
    created = client.create_dataset("train", "Training frames")
    assert created.is_admin and created.title == "train"
    found = client.find_dataset("train")
    assert found == created
    assert client.find_dataset("trai") is None  # exact titles only

    rows = client.link_items(created.dataset_hash, items[:2])
    assert sorted(row.item_uuid for row in rows) == sorted(items[:2])
    encord_emulator.reset_counters()
    again = client.link_items(created.dataset_hash, items)  # SKIP: only the new item comes back
    assert [row.item_uuid for row in again] == [items[2]]
    assert encord_emulator.counters() == {LINK: 1}
    listed = client.dataset_rows(created.dataset_hash)
    assert sorted(row.item_uuid for row in listed) == sorted(items)

    gone = next(row for row in listed if row.item_uuid == items[0])
    client.unlink_data(created.dataset_hash, [gone.data_hash])
    assert sorted(r.item_uuid for r in client.dataset_rows(created.dataset_hash)) == sorted(
        items[1:]
    )
    assert len(encord_emulator.items(folder)) == 3  # the storage items stay


def test_delete_storage_items(
    client: EncordClient, folder: str, encord_integration: str, encord_emulator: EncordEmulator
) -> None:
    items = list(register_images(client, folder, encord_integration, 2).values())
    client.delete_items(folder, [items[0]])
    assert [item.uuid for item in encord_emulator.items(folder)] == [items[1]]


def test_batches_over_the_limit_are_refused_before_any_request(client: EncordClient) -> None:
    too_many = [f"00000000-0000-4000-8000-{n:012d}" for n in range(BATCH_LIMIT + 1)]
    with pytest.raises(ValueError, match=f"send at most {BATCH_LIMIT}"):
        client.link_items("any", too_many)
    with pytest.raises(ValueError, match=f"send at most {BATCH_LIMIT}"):
        client.unlink_data("any", too_many)


def test_two_datasets_with_one_title_is_a_clear_error(
    client: EncordClient, encord_user_client: EncordUserClient
) -> None:
    first = client.create_dataset("cams-train")
    second = encord_user_client.create_dataset(
        "cams-train", StorageLocation.AWS, create_backing_folder=False
    )
    with pytest.raises(EncordAmbiguousError) as raised:
        client.find_dataset("cams-train")
    message = str(raised.value)
    assert "'cams-train'" in message and "2 datasets have this title" in message
    assert first.dataset_hash in message and second.dataset_hash in message
    assert "rename or delete the extra ones" in message


def test_a_user_without_the_admin_role_gets_a_permission_error(
    client: EncordClient,
    folder: str,
    encord_integration: str,
    encord_emulator: EncordEmulator,
    encord_user_client: EncordUserClient,
) -> None:
    items = list(register_images(client, folder, encord_integration, 1).values())
    created = client.create_dataset("shared")
    encord_user_client.get_dataset(created.dataset_hash).add_users([OTHER], DatasetUserRole.USER)
    other = EncordClient.from_ssh_key(
        encord_emulator.new_ssh_key(user=OTHER), domain=encord_emulator.domain
    )
    found = other.find_dataset("shared")
    assert found is not None and not found.is_admin
    with pytest.raises(EncordPermissionError, match="needs the admin role on the dataset"):
        other.link_items(found.dataset_hash, items)
    assert client.dataset_rows(created.dataset_hash) == []


def test_a_lost_link_answer_is_retried_and_creates_nothing_twice(
    client: EncordClient, folder: str, encord_integration: str, encord_emulator: EncordEmulator
) -> None:
    items = list(register_images(client, folder, encord_integration, 2).values())
    created = client.create_dataset("train")
    encord_emulator.rate_limit(path=LINK, count=1, retry_after=0)
    rows = client.link_items(created.dataset_hash, items)
    assert sorted(rows, key=lambda r: r.item_uuid) == sorted(
        client.dataset_rows(created.dataset_hash), key=lambda r: r.item_uuid
    )
    assert all(isinstance(row, DatasetRow) for row in rows)
    assert encord_emulator.counters()[LINK] == 2
