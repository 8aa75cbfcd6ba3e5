"""Reading and merge-patching items' stored clientMetadata against the Encord emulator."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from dagster_encord.encord_client.client import EncordClient
from dagster_encord.metadata.item_metadata import (
    iter_folder_metadata,
    patch_metadata,
    read_metadata,
)
from tests.metadata.helpers import image_url, register_images

if TYPE_CHECKING:
    from dagster_encord.emulator import EncordEmulator


def test_patch_merges_into_the_stored_metadata(
    client: EncordClient, folder: str, encord_integration: str, encord_emulator: EncordEmulator
) -> None:
    items = register_images(client, folder, encord_integration, 2, metadata={0: {"keep": "me"}})
    encord_emulator.reset_counters()
    outcome = patch_metadata(client, {uuid: {"n": 1} for uuid in items.values()})
    assert set(outcome.patched) == set(items.values()) and outcome.errors == {}
    assert encord_emulator.counters() == {
        "POST /v2/public/storage/items/get-bulk": 1,
        "PATCH /v2/public/storage/items/patch-bulk": 1,
    }
    stored, errors = read_metadata(client, list(items.values()))
    assert errors == {}
    assert stored[items[image_url(0)]] == {"keep": "me", "n": 1}
    assert stored[items[image_url(1)]] == {"n": 1}


def test_unchanged_metadata_sends_no_patch(
    client: EncordClient, folder: str, encord_integration: str, encord_emulator: EncordEmulator
) -> None:
    items = register_images(
        client, folder, encord_integration, 2, metadata={0: {"a": 1}, 1: {"a": 1}}
    )
    encord_emulator.reset_counters()
    outcome = patch_metadata(client, {uuid: {"a": 1} for uuid in items.values()})
    assert sorted(outcome.unchanged) == sorted(items.values()) and not outcome.patched
    assert not any("patch-bulk" in k for k in encord_emulator.counters())


def test_missing_item_is_a_per_item_error_and_others_proceed(
    client: EncordClient, folder: str, encord_integration: str
) -> None:
    items = register_images(client, folder, encord_integration, 4)
    missing = "6f1c2b1e-8a4b-4c1d-9e2f-0a1b2c3d4e5f"
    updates = {uuid: {"n": 1} for uuid in items.values()} | {missing: {"n": 1}}
    outcome = patch_metadata(client, updates)
    assert set(outcome.errors) == {missing}
    assert "not found" in outcome.errors[missing]
    assert set(outcome.patched) == set(items.values())


def test_batch_size_over_the_bundle_limit_is_refused_before_any_request(
    client: EncordClient, encord_emulator: EncordEmulator
) -> None:
    encord_emulator.reset_counters()
    with pytest.raises(ValueError, match=r"batch_size must be 1\.\.1000"):
        patch_metadata(client, {"x": {"n": 1}}, batch_size=1001)
    assert encord_emulator.counters() == {}


def test_folder_listing_returns_metadata(
    client: EncordClient, folder: str, encord_integration: str
) -> None:
    register_images(client, folder, encord_integration, 3, metadata={1: {"k": "v"}})
    listed = {url: metadata for _, url, metadata in iter_folder_metadata(client, folder)}
    assert listed[image_url(1)] == {"k": "v"} and listed[image_url(0)] == {}
