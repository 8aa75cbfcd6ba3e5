"""`sync_schema` against the Encord emulator, through `EncordClient` and the real SDK."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from dagster_encord.encord_client.client import EncordClient
from dagster_encord.errors import SchemaError
from dagster_encord.metadata.schema import DeclaredSchema, SchemaAction, embedding, enum, scalar
from dagster_encord.metadata.schema_sync import load_live_schema, sync_schema

if TYPE_CHECKING:
    from dagster_encord.emulator import EncordEmulator


def _wire(client: EncordClient) -> dict[str, Any]:
    return dict(client.load_metadata_schema().wire)


DECLARED = DeclaredSchema.of(
    scalar("captured_at", "datetime"),
    scalar("team.split", "varchar"),
    enum("weather", ["sunny", "rainy"]),
    embedding("clip", 8),
)


def test_sync_adds_declared_keys_keeps_undeclared_and_verifies(client: EncordClient) -> None:
    # Someone else's keys, saved before the sync.
    client.save_metadata_schema(
        client.load_metadata_schema(),
        [
            SchemaAction("add_scalar", "theirs", type="number"),
            SchemaAction("add_enum", "weather", values=("rainy",)),
        ],
    )

    result = sync_schema(client, DECLARED)

    assert result.applied and result.verified
    assert result.plan.kept_undeclared == ("theirs",)
    wire = _wire(client)
    assert wire["theirs"] == {"ty": "variant", "hint": "number"}
    assert wire["captured_at"] == {"ty": "variant", "hint": "datetime"}
    assert wire["team.split"] == {"ty": "variant", "hint": "varchar"}
    assert wire["weather"]["values"] == ["rainy", "sunny"]
    assert wire["clip"]["size"] == 8
    again = sync_schema(client, DECLARED)
    assert not again.applied and again.plan.is_noop


def test_disallowed_type_change_saves_nothing(
    client: EncordClient, encord_emulator: EncordEmulator
) -> None:
    sync_schema(client, DeclaredSchema.of(scalar("score", "varchar")))
    encord_emulator.reset_counters()
    with pytest.raises(SchemaError, match=r"'score'.*allow_type_changes"):
        sync_schema(client, DeclaredSchema.of(scalar("score", "number"), scalar("new", "text")))
    assert not any(k.startswith("POST") for k in encord_emulator.counters())
    assert "new" not in _wire(client)
    allowed = DeclaredSchema.of(scalar("score", "number"), allow_type_changes=True)
    assert sync_schema(client, allowed).verified
    assert load_live_schema(client)["score"].type == "number"


def test_sync_costs_three_requests_and_one_when_in_sync(
    client: EncordClient, encord_emulator: EncordEmulator
) -> None:
    encord_emulator.reset_counters()
    sync_schema(client, DECLARED)
    assert sum(encord_emulator.counters().values()) == 3  # load, save, reload
    encord_emulator.reset_counters()
    sync_schema(client, DECLARED)
    assert sum(encord_emulator.counters().values()) == 1


def test_delete_is_soft_by_default_and_restores(client: EncordClient) -> None:
    sync_schema(client, DeclaredSchema.of(scalar("old", "number")))
    sync_schema(client, DeclaredSchema.of(delete=["old"]))
    assert _wire(client)["old"] == {
        "ty": "tombstone",
        "deleted_ty": {"ty": "variant", "hint": "number"},
    }
    result = sync_schema(client, DeclaredSchema.of(scalar("old", "number")))
    assert result.actions == ("restore_key('old')",)
    assert _wire(client)["old"] == {"ty": "variant", "hint": "number"}


def test_hard_delete_leaves_a_tombstone_that_cannot_be_reused(client: EncordClient) -> None:
    sync_schema(client, DeclaredSchema.of(scalar("gone", "text")))
    sync_schema(client, DeclaredSchema.of(delete=["gone"], hard_delete=True))
    assert _wire(client)["gone"] == {"ty": "tombstone", "deleted_ty": None}
    with pytest.raises(SchemaError, match="'gone' was hard-deleted"):
        sync_schema(client, DeclaredSchema.of(scalar("gone", "text")))
