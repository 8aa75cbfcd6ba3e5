"""`execute_upserts` against the Encord emulator: patch and re-register modes, read back and
verified; invalid metadata never sent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dagster_encord.encord_client.client import EncordClient
from dagster_encord.metadata.item_metadata import read_metadata
from dagster_encord.metadata.schema import DeclaredSchema, scalar
from dagster_encord.metadata.upsert import MetadataUpdate, plan_upserts
from dagster_encord.metadata.upsert_execute import execute_upserts
from dagster_encord.metadata.validate import MetadataValidator
from tests.metadata.helpers import image_url, register_images

if TYPE_CHECKING:
    from dagster_encord.emulator import EncordEmulator


def test_patch_merges_keys_and_reads_back(
    client: EncordClient, folder: str, encord_integration: str, encord_emulator: EncordEmulator
) -> None:
    items = register_images(
        client, folder, encord_integration, 3, metadata={0: {"keep": "me", "score": 1}}
    )
    updates = [
        MetadataUpdate(url, {"score": 10 + i}, item_uuid=uuid)
        for i, (url, uuid) in enumerate(items.items())
    ]
    encord_emulator.reset_counters()
    report = execute_upserts(client, plan_upserts(updates, mode="patch"))
    assert (report.patched, report.verified, report.errors) == (3, 3, {})
    # Read, patch, read back.
    assert encord_emulator.counters() == {
        "POST /v2/public/storage/items/get-bulk": 2,
        "PATCH /v2/public/storage/items/patch-bulk": 1,
    }
    stored, errors = read_metadata(client, list(items.values()))
    assert errors == {}
    assert stored[items[image_url(0)]] == {"keep": "me", "score": 10}
    assert stored[items[image_url(2)]] == {"score": 12}


def test_reregister_overwrites_and_verifies(
    client: EncordClient, folder: str, encord_integration: str
) -> None:
    items = register_images(client, folder, encord_integration, 2, metadata={0: {"old": True}})
    updates = [
        MetadataUpdate(url, {"new": i}, item_uuid=uuid)
        for i, (url, uuid) in enumerate(items.items())
    ]
    report = execute_upserts(
        client,
        plan_upserts(updates, mode="reregister"),
        folder=folder,
        integration="test-s3",
        poll_interval_seconds=0.05,
    )
    assert report.upload_job_id and report.reregistered == 2 and report.verified == 2
    assert report.errors == {}
    stored, _ = read_metadata(client, list(items.values()))
    assert stored[items[image_url(0)]] == {"new": 0}


def test_invalid_metadata_is_never_sent(
    client: EncordClient, folder: str, encord_integration: str, encord_emulator: EncordEmulator
) -> None:
    items = register_images(client, folder, encord_integration, 1)
    validator = MetadataValidator(DeclaredSchema.of(scalar("captured_at", "datetime")))
    url, uuid = next(iter(items.items()))
    plan = plan_upserts(
        [MetadataUpdate(url, {"captured_at": "12/03/24"}, item_uuid=uuid)], validator=validator
    )
    encord_emulator.reset_counters()
    report = execute_upserts(client, plan)
    assert encord_emulator.counters() == {}
    assert "'captured_at'" in report.errors[url] and "'12/03/24'" in report.errors[url]
