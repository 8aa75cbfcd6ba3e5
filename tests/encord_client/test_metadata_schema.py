"""`EncordClient`'s metadata-schema calls against the emulator: load the wire view, save edits
applied to the schema as loaded, and refuse an edit before anything is saved."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from dagster_encord.encord_client.client import EncordClient
from dagster_encord.errors import SchemaError
from dagster_encord.metadata.schema import SchemaAction

if TYPE_CHECKING:
    from dagster_encord.emulator import EncordEmulator


def test_edits_are_saved_on_top_of_the_loaded_schema(
    client: EncordClient, encord_emulator: EncordEmulator
) -> None:
    client.save_metadata_schema(
        client.load_metadata_schema(), [SchemaAction("add_scalar", "theirs", type="number")]
    )
    encord_emulator.reset_counters()
    loaded = client.load_metadata_schema()
    client.save_metadata_schema(
        loaded,
        [
            SchemaAction("add_enum", "weather", values=("sunny",)),
            SchemaAction("delete_key", "theirs"),
        ],
    )
    assert sum(encord_emulator.counters().values()) == 2  # one load, one save
    wire = client.load_metadata_schema().wire
    assert wire["weather"] == {"ty": "enum", "values": ["sunny"]}
    assert wire["theirs"] == {"ty": "tombstone", "deleted_ty": {"ty": "variant", "hint": "number"}}


def test_an_edit_the_sdk_refuses_saves_nothing(
    client: EncordClient, encord_emulator: EncordEmulator
) -> None:
    loaded = client.load_metadata_schema()
    encord_emulator.reset_counters()
    with pytest.raises(SchemaError, match=r"add_embedding\('clip', size=0\) refused by the SDK"):
        client.save_metadata_schema(
            loaded,
            [
                SchemaAction("add_scalar", "fine", type="number"),
                SchemaAction("add_embedding", "clip", size=0),
            ],
        )
    assert encord_emulator.counters() == {}
    assert "fine" not in client.load_metadata_schema().wire
