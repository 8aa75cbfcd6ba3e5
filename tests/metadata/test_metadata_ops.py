"""Schema sync and metadata upserts against the Encord emulator, through the real SDK."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from dagster_encord.encord_client.client import EncordClient
from dagster_encord.encord_client.metadata_ops import (
    execute_upserts,
    iter_folder_metadata,
    load_live_schema,
    patch_metadata,
    read_metadata,
    sync_schema,
)
from dagster_encord.errors import SchemaError
from dagster_encord.metadata.schema import DeclaredSchema, embedding, enum, scalar
from dagster_encord.metadata.upsert import MetadataUpdate, plan_upserts
from dagster_encord.metadata.validate import MetadataValidator
from tests.metadata.helpers import image_url, register_images

if TYPE_CHECKING:
    from encord import EncordUserClient

    from dagster_encord.emulator import EncordEmulator


@pytest.fixture
def client(encord_emulator: EncordEmulator, encord_ssh_key: str) -> EncordClient:
    return EncordClient.from_ssh_key(encord_ssh_key, domain=encord_emulator.domain)


@pytest.fixture
def folder(client: EncordClient) -> str:
    return str(client.user_client.create_storage_folder("cams").uuid)


def _wire(user_client: EncordUserClient) -> dict:
    return json.loads(repr(user_client.metadata_schema()))


DECLARED = DeclaredSchema.of(
    scalar("captured_at", "datetime"),
    scalar("team.split", "varchar"),
    enum("weather", ["sunny", "rainy"]),
    embedding("clip", 8),
)


def test_sync_adds_declared_keys_keeps_undeclared_and_verifies(
    encord_user_client: EncordUserClient,
) -> None:
    existing = encord_user_client.metadata_schema()
    existing.add_scalar("theirs", data_type="number")
    existing.add_enum("weather", values=["rainy"])
    existing.save()

    result = sync_schema(encord_user_client, DECLARED)

    assert result.applied and result.verified
    assert result.plan.kept_undeclared == ("theirs",)
    wire = _wire(encord_user_client)
    assert wire["theirs"] == {"ty": "variant", "hint": "number"}
    assert wire["captured_at"] == {"ty": "variant", "hint": "datetime"}
    assert wire["team.split"] == {"ty": "variant", "hint": "varchar"}
    assert wire["weather"]["values"] == ["rainy", "sunny"]
    assert wire["clip"]["size"] == 8
    again = sync_schema(encord_user_client, DECLARED)
    assert not again.applied and again.plan.is_noop


def test_disallowed_type_change_saves_nothing(
    encord_user_client: EncordUserClient, encord_emulator: EncordEmulator
) -> None:
    sync_schema(encord_user_client, DeclaredSchema.of(scalar("score", "varchar")))
    encord_emulator.reset_counters()
    with pytest.raises(SchemaError, match=r"'score'.*allow_type_changes"):
        sync_schema(
            encord_user_client, DeclaredSchema.of(scalar("score", "number"), scalar("new", "text"))
        )
    assert not any(k.startswith("POST") for k in encord_emulator.counters())
    assert "new" not in _wire(encord_user_client)
    allowed = DeclaredSchema.of(scalar("score", "number"), allow_type_changes=True)
    assert sync_schema(encord_user_client, allowed).verified
    assert load_live_schema(encord_user_client)["score"].type == "number"


def test_delete_is_soft_by_default_and_restores(encord_user_client: EncordUserClient) -> None:
    sync_schema(encord_user_client, DeclaredSchema.of(scalar("old", "number")))
    sync_schema(encord_user_client, DeclaredSchema.of(delete=["old"]))
    assert _wire(encord_user_client)["old"] == {
        "ty": "tombstone",
        "deleted_ty": {"ty": "variant", "hint": "number"},
    }
    result = sync_schema(encord_user_client, DeclaredSchema.of(scalar("old", "number")))
    assert result.actions == ("restore_key('old')",)
    assert _wire(encord_user_client)["old"] == {"ty": "variant", "hint": "number"}


def test_patch_merges_keys_and_reads_back(
    client: EncordClient, folder: str, encord_integration: str
) -> None:
    items = register_images(
        client, folder, encord_integration, 3, metadata={0: {"keep": "me", "score": 1}}
    )
    updates = [
        MetadataUpdate(url, {"score": 10 + i}, item_uuid=uuid)
        for i, (url, uuid) in enumerate(items.items())
    ]
    report = execute_upserts(client, plan_upserts(updates, mode="patch"))
    assert (report.patched, report.verified, report.errors) == (3, 3, {})
    stored, errors = read_metadata(client.user_client, list(items.values()))
    assert errors == {}
    assert stored[items[image_url(0)]] == {"keep": "me", "score": 10}
    assert stored[items[image_url(2)]] == {"score": 12}


def test_unchanged_metadata_sends_no_patch(
    client: EncordClient, folder: str, encord_integration: str, encord_emulator: EncordEmulator
) -> None:
    items = register_images(
        client, folder, encord_integration, 2, metadata={0: {"a": 1}, 1: {"a": 1}}
    )
    encord_emulator.reset_counters()
    outcome = patch_metadata(client.user_client, {uuid: {"a": 1} for uuid in items.values()})
    assert sorted(outcome.unchanged) == sorted(items.values()) and not outcome.patched
    assert not any("patch-bulk" in k for k in encord_emulator.counters())


def test_missing_item_is_a_per_item_error_and_others_proceed(
    client: EncordClient, folder: str, encord_integration: str
) -> None:
    items = register_images(client, folder, encord_integration, 4)
    missing = "6f1c2b1e-8a4b-4c1d-9e2f-0a1b2c3d4e5f"
    updates = {uuid: {"n": 1} for uuid in items.values()} | {missing: {"n": 1}}
    outcome = patch_metadata(client.user_client, updates)
    assert set(outcome.errors) == {missing}
    assert "not found" in outcome.errors[missing]
    assert set(outcome.patched) == set(items.values())


def test_item_refused_by_encord_is_isolated_by_bisection(
    client: EncordClient, folder: str, encord_integration: str, encord_user_client: EncordUserClient
) -> None:
    items = register_images(client, folder, encord_integration, 6)
    sync_schema(encord_user_client, DeclaredSchema.of(scalar("n", "number")))
    uuids = list(items.values())
    # The emulator refuses the whole bulk request when one value breaks the live schema.
    updates = {uuid: {"n": 1} for uuid in uuids} | {uuids[3]: {"n": "not a number"}}
    outcome = patch_metadata(client.user_client, updates)
    assert set(outcome.errors) == {uuids[3]}
    assert set(outcome.patched) == set(uuids) - {uuids[3]}


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
    stored, _ = read_metadata(client.user_client, list(items.values()))
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


def test_folder_listing_returns_metadata(
    client: EncordClient, folder: str, encord_integration: str
) -> None:
    register_images(client, folder, encord_integration, 3, metadata={1: {"k": "v"}})
    listed = {url: metadata for _, url, metadata in iter_folder_metadata(client, folder)}
    assert listed[image_url(1)] == {"k": "v"} and listed[image_url(0)] == {}


def test_transient_patch_failures_are_retried_since_the_sdk_never_retries_patch(
    client: EncordClient, folder: str, encord_integration: str, encord_emulator: EncordEmulator
) -> None:
    items = register_images(client, folder, encord_integration, 3)
    encord_emulator.fail_requests(503, path="*patch-bulk*", method="PATCH", count=1)
    encord_emulator.rate_limit(path="*patch-bulk*", method="PATCH", count=1, retry_after=0)
    encord_emulator.reset_counters()
    outcome = patch_metadata(client.user_client, {uuid: {"n": 1} for uuid in items.values()})
    assert outcome.errors == {} and set(outcome.patched) == set(items.values())
    assert encord_emulator.counters()["PATCH /v2/public/storage/items/patch-bulk"] == 3


def test_persistent_server_errors_become_per_item_errors(
    client: EncordClient, folder: str, encord_integration: str, encord_emulator: EncordEmulator
) -> None:
    items = register_images(client, folder, encord_integration, 2)
    encord_emulator.fail_requests(500, path="*patch-bulk*", method="PATCH", count=10)
    outcome = patch_metadata(client.user_client, {uuid: {"n": 1} for uuid in items.values()})
    assert set(outcome.errors) == set(items.values()) and not outcome.patched
    assert all("patching the metadata of 2 items" in e for e in outcome.errors.values())


def test_hard_delete_leaves_a_tombstone_that_cannot_be_reused(
    encord_user_client: EncordUserClient,
) -> None:
    sync_schema(encord_user_client, DeclaredSchema.of(scalar("gone", "text")))
    sync_schema(encord_user_client, DeclaredSchema.of(delete=["gone"], hard_delete=True))
    assert _wire(encord_user_client)["gone"] == {"ty": "tombstone", "deleted_ty": None}
    with pytest.raises(SchemaError, match="'gone' was hard-deleted"):
        sync_schema(encord_user_client, DeclaredSchema.of(scalar("gone", "text")))
