"""`EncordClient`'s storage-item calls against the emulator: bulk reads and patches split until
the item at fault stands alone, transient patch failures retried, frames of group items."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from dagster_encord.encord_client.client import EncordClient
from dagster_encord.encord_client.storage import StoredItem
from dagster_encord.errors import EncordNotFoundError
from dagster_encord.metadata.schema import DeclaredSchema, scalar
from dagster_encord.metadata.schema_sync import sync_schema
from tests.metadata.helpers import image_url, register_images

if TYPE_CHECKING:
    from dagster_encord.emulator import EncordEmulator

GET_BULK = "POST /v2/public/storage/items/get-bulk"
PATCH = "PATCH /v2/public/storage/items/patch-bulk"


def test_bulk_read_isolates_missing_and_malformed_uuids(
    client: EncordClient, folder: str, encord_integration: str, encord_emulator: EncordEmulator
) -> None:
    items = register_images(client, folder, encord_integration, 3, metadata={0: {"k": "v"}})
    missing = "6f1c2b1e-8a4b-4c1d-9e2f-0a1b2c3d4e5f"
    encord_emulator.reset_counters()
    read = client.get_items([*items.values(), missing, "not-a-uuid"], batch_size=2)
    assert set(read.items) == set(items.values())
    assert read.items[items[image_url(0)]].client_metadata == {"k": "v"}
    assert read.items[items[image_url(0)]].url == image_url(0)
    assert "not found" in read.errors[missing]
    assert read.errors["not-a-uuid"] == "not a valid item uuid"
    encord_emulator.reset_counters()
    assert set(client.get_items(list(items.values())).items) == set(items.values())
    assert encord_emulator.counters() == {GET_BULK: 1}


def test_refused_item_is_isolated_by_bisection(
    client: EncordClient, folder: str, encord_integration: str
) -> None:
    items = register_images(client, folder, encord_integration, 6)
    sync_schema(client, DeclaredSchema.of(scalar("n", "number")))
    read = client.get_items(list(items.values()))
    uuids = list(items.values())
    # The emulator refuses the whole bulk request when one value breaks the live schema.
    changes = [(read.items[u], {"n": "not a number" if u == uuids[3] else 1}) for u in uuids]
    result = client.patch_items_metadata(changes)
    assert set(result.errors) == {uuids[3]}
    assert set(result.patched) == set(uuids) - {uuids[3]}


def test_transient_patch_failures_are_retried_since_the_sdk_never_retries_patch(
    client: EncordClient, folder: str, encord_integration: str, encord_emulator: EncordEmulator
) -> None:
    items = register_images(client, folder, encord_integration, 3)
    read = client.get_items(list(items.values()))
    encord_emulator.fail_requests(503, path="*patch-bulk*", method="PATCH", count=1)
    encord_emulator.rate_limit(path="*patch-bulk*", method="PATCH", count=1, retry_after=0)
    encord_emulator.reset_counters()
    result = client.patch_items_metadata([(item, {"n": 1}) for item in read.items.values()])
    assert result.errors == {} and set(result.patched) == set(items.values())
    assert encord_emulator.counters()[PATCH] == 3


def test_persistent_server_errors_become_per_item_errors(
    client: EncordClient, folder: str, encord_integration: str, encord_emulator: EncordEmulator
) -> None:
    items = register_images(client, folder, encord_integration, 2)
    read = client.get_items(list(items.values()))
    encord_emulator.fail_requests(500, path="*patch-bulk*", method="PATCH", count=10)
    result = client.patch_items_metadata([(item, {"n": 1}) for item in read.items.values()])
    assert set(result.errors) == set(items.values()) and not result.patched
    assert all("patching the metadata of 2 items" in e for e in result.errors.values())


def test_items_not_read_by_the_client_are_refused_before_any_request(
    client: EncordClient, encord_emulator: EncordEmulator
) -> None:
    stranger = StoredItem("6f1c2b1e-8a4b-4c1d-9e2f-0a1b2c3d4e5f", "x.jpg", None, {})
    encord_emulator.reset_counters()
    with pytest.raises(ValueError, match="not read by an EncordClient"):
        client.patch_items_metadata([(stranger, {"n": 1})])
    with pytest.raises(ValueError, match=r"batch_size must be 1\.\.1000"):
        client.patch_items_metadata([], batch_size=0)
    assert encord_emulator.counters() == {}


def test_group_frames_in_order_with_their_metadata(
    client: EncordClient, folder: str, encord_integration: str, encord_emulator: EncordEmulator
) -> None:
    urls = [image_url(n) for n in range(3)]
    entry: dict[str, object] = {"title": "cam-1", "clientMetadata": {"site": "A"}}
    entry.update({f"objectUrl_{n}": url for n, url in enumerate(urls)})
    job_id = client.start_upload_job(folder, encord_integration, {"image_groups": [entry]})
    deadline = time.monotonic() + 60
    while (state := client.poll_upload_job(folder, job_id)).status == "PENDING":
        assert time.monotonic() < deadline, "upload job did not finish"
        time.sleep(0.05)
    (registered,) = state.items
    group = client.get_item(registered.item_uuid)
    assert group.client_metadata == {"site": "A"} and group.url is None
    encord_emulator.reset_counters()
    frames = client.child_items(group)
    assert [frame.url for frame in frames] == urls
    assert sum(encord_emulator.counters().values()) == 1
    encord_emulator.reset_counters()
    assert [frame.url for frame in client.group_frames(registered.item_uuid)] == urls
    assert sum(encord_emulator.counters().values()) == 2
    encord_emulator.reset_counters()
    assert client.child_items(frames[0]) == []  # a frame is no group: no request
    assert encord_emulator.counters() == {}


def test_unknown_group_names_the_group(client: EncordClient) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(EncordNotFoundError, match=f"frames of image group {missing}"):
        client.group_frames(missing)
