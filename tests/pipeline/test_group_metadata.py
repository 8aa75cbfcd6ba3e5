"""Per-frame metadata of an image sequence through the pipeline: sidecars in a moto bucket, the
sequence registered with its shared metadata inline, `metadata_upserts` patching each frame, and a
change in one frame's sidecar re-patching that frame alone."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import dagster as dg
from encord import EncordUserClient

from dagster_encord.ledger import FileState, Ledger
from dagster_encord.metadata.frames import member_fingerprint
from dagster_encord.metadata.ledger_io import METADATA_ERROR_CLASS
from dagster_encord.metadata.schema import DeclaredSchema, enum, scalar
from dagster_encord.metadata.sources import SidecarJson
from dagster_encord.quickstart.sample_media import png
from dagster_encord.sources.registry import open_source
from tests.pipeline.harness import Harness

SCHEMA = DeclaredSchema.of(
    scalar("site", "varchar"),
    scalar("frame", "number"),
    enum("weather", ["sunny", "rainy"]),
    unknown_keys="reject",
)
KEYS = [f"seq/cam-7/frame_{n:03d}.png" for n in range(3)]
PATCH = "PATCH /v2/public/storage/items/patch-bulk"


def _put_frame(harness: Harness, n: int, metadata: dict[str, Any]) -> None:
    harness.put({f"{KEYS[n]}.json": json.dumps(metadata).encode()})


def _materialize(harness: Harness, defs: dg.Definitions, asset: str) -> Mapping[str, Any]:
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=harness.instance, asset_selection=[dg.AssetKey([harness.name, asset])]
    )
    assert result.success
    return result.asset_materializations_for_node(f"{harness.name}__{asset}")[0].metadata


def _frames(harness: Harness, key: str, group_uuid: str) -> dict[str, Any]:
    """Frame URL -> the frame's storage item, read through the encord SDK."""
    user = EncordUserClient.create_with_ssh_private_key(key, domain=harness.emulator.domain)
    group = user.get_storage_item(group_uuid)
    return {child.url or child.name: child for child in group.get_child_items()}


def test_per_frame_metadata_is_patched_and_only_a_changed_frame_is_resent(
    harness: Harness, encord_ssh_key: str
) -> None:
    harness.put({key: png(2, 2, (n, n, n)) for n, key in enumerate(KEYS)})
    _put_frame(harness, 0, {"site": "A", "frame": 0})
    _put_frame(harness, 1, {"site": "A", "frame": 1, "weather": "sunny"})
    _put_frame(harness, 2, {"site": "A", "frame": 2})
    source = open_source(f"s3://{harness.bucket}", endpoint_url=harness.endpoint)
    defs = harness.defs(
        planner={"groups": [{"kind": "image_sequence", "by": "folder", "match": "seq/**"}]},
        metadata_schema=SCHEMA,
        metadata_provider=SidecarJson(source),
    )
    _materialize(harness, defs, "metadata_schema")
    runs = harness.tick(defs, "new_objects")
    assert len(runs) == 1 and runs[0].success
    ledger = Ledger(harness.ledger_url, pipeline=harness.name)
    rows = {row.key: row for row in ledger.files_in_state(FileState.REGISTERED)}
    assert set(rows) == set(KEYS)  # the provider's sidecars are metadata, never registered
    (group_uuid,) = {row.item_uuid for row in rows.values()}
    assert group_uuid is not None
    urls = [rows[key].object_url for key in KEYS]
    # Registration carried the shared part; the frames have nothing yet.
    (group,) = harness.emulator.items(harness.folder_uuid)
    assert group.client_metadata == {"site": "A"}
    assert all(
        f.client_metadata == {} for f in _frames(harness, encord_ssh_key, group_uuid).values()
    )

    harness.emulator.reset_counters()
    meta = _materialize(harness, defs, "metadata_upserts")
    assert harness.emulator.counters()[PATCH] == 1  # the three frames in one bulk patch
    assert (meta["frames_patched"].value, meta["frames_verified"].value) == (3, 3)
    assert meta["frames_failed"].value == 0
    frames = _frames(harness, encord_ssh_key, group_uuid)
    assert {url: frames[url].client_metadata for url in urls} == {
        urls[0]: {"frame": 0},
        urls[1]: {"frame": 1, "weather": "sunny"},
        urls[2]: {"frame": 2},
    }
    rows = {row.key: row for row in ledger.files_in_state(FileState.REGISTERED)}
    assert rows[KEYS[1]].metadata_hash == member_fingerprint(
        {"site": "A"}, {"frame": 1, "weather": "sunny"}
    )

    # Nothing changed: the fingerprints match and no item is read or patched.
    harness.emulator.reset_counters()
    meta = _materialize(harness, defs, "metadata_upserts")
    assert meta["frames_patched"].value == 0
    assert not [e for e in harness.emulator.counters() if "storage/item" in e]

    # One frame changes, another becomes invalid: the first alone is patched, the second fails
    # on its own member file, and the third is left alone.
    edited = {url: frames[url].last_edited_at for url in urls}
    _put_frame(harness, 1, {"site": "A", "frame": 1, "weather": "rainy"})
    _put_frame(harness, 2, {"site": "A", "frame": 2, "weather": "hail"})
    harness.emulator.reset_counters()
    meta = _materialize(harness, defs, "metadata_upserts")
    assert harness.emulator.counters()[PATCH] == 1
    assert (meta["frames_patched"].value, meta["frames_failed"].value) == (1, 1)
    assert meta["patched"].value == 0  # the group's shared part did not change
    frames = _frames(harness, encord_ssh_key, group_uuid)
    assert frames[urls[1]].client_metadata == {"frame": 1, "weather": "rainy"}
    assert frames[urls[1]].last_edited_at != edited[urls[1]]
    assert frames[urls[0]].last_edited_at == edited[urls[0]]
    assert frames[urls[2]].last_edited_at == edited[urls[2]]
    assert frames[urls[2]].client_metadata == {"frame": 2}
    rows = {row.key: row for row in ledger.files_in_state(FileState.REGISTERED)}
    assert rows[KEYS[2]].error_class == METADATA_ERROR_CLASS
    assert "'hail'" in (rows[KEYS[2]].error_message or "")
    assert rows[KEYS[2]].metadata_hash == member_fingerprint({"site": "A"}, {"frame": 2})
    assert rows[KEYS[1]].error_class is None
    assert rows[KEYS[1]].metadata_hash == member_fingerprint(
        {"site": "A"}, {"frame": 1, "weather": "rainy"}
    )
    (group,) = harness.emulator.items(harness.folder_uuid)
    assert group.client_metadata == {"site": "A"}
