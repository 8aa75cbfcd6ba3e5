"""Per-frame metadata for the images of an image group (seed 003): `patch_group_frames` against
the Encord emulator's child items, read back per frame with `read_group_frames`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from dagster_encord.encord_client.client import EncordClient
from dagster_encord.errors import EncordNotFoundError
from dagster_encord.metadata.frame_execute import patch_group_frames, read_group_frames
from dagster_encord.metadata.schema import DeclaredSchema, enum, scalar
from dagster_encord.metadata.schema_sync import sync_schema
from dagster_encord.metadata.sources import group_metadata
from tests.metadata.helpers import image_url

if TYPE_CHECKING:
    from encord import EncordUserClient

    from dagster_encord.emulator import EncordEmulator

FRAMES = [image_url(n) for n in range(3)]
PATCH = "PATCH /v2/public/storage/items/patch-bulk"


@pytest.fixture
def folder(encord_user_client: EncordUserClient) -> str:
    return str(encord_user_client.create_storage_folder("groups").uuid)


def _register_group(
    client: EncordClient, folder: str, integration: str, metadata: dict[str, object]
) -> str:
    entry: dict[str, object] = {"title": "cam-7", "clientMetadata": metadata}
    entry.update({f"objectUrl_{n}": url for n, url in enumerate(FRAMES)})
    job_id = client.start_upload_job(folder, integration, {"image_groups": [entry]})
    deadline = time.monotonic() + 60
    while (state := client.poll_upload_job(folder, job_id)).status == "PENDING":
        assert time.monotonic() < deadline, "upload job did not finish"
        time.sleep(0.05)
    assert state.status == "DONE", state
    (item,) = state.items
    return item.item_uuid


def test_per_frame_metadata_is_patched_and_read_back(
    client: EncordClient, folder: str, encord_integration: str, encord_emulator: EncordEmulator
) -> None:
    sync_schema(
        client,
        DeclaredSchema.of(scalar("frame", "number"), enum("weather", ["sunny", "rainy"])),
    )
    members = [
        {"site": "A", "frame": 0, "weather": "sunny"},
        {"site": "A", "frame": 1, "weather": "rainy"},
        {"site": "A", "frame": 2},
    ]
    shared, per_frame = group_metadata(members)
    group_uuid = _register_group(client, folder, encord_integration, shared)
    assert read_group_frames(client, group_uuid) == {url: {} for url in FRAMES}

    encord_emulator.reset_counters()
    outcome = patch_group_frames(client, group_uuid, dict(zip(FRAMES, per_frame, strict=True)))
    assert outcome.errors == {} and len(outcome.patched) == 3
    assert encord_emulator.counters()[PATCH] == 1  # all frames in one bulk patch
    stored = read_group_frames(client, group_uuid)
    assert stored == dict(zip(FRAMES, per_frame, strict=True))
    group = client.get_item(group_uuid)
    assert group.client_metadata == {"site": "A"}  # the group's own metadata is untouched

    # A merge: other keys of a frame stay. Unchanged frames send nothing.
    outcome = patch_group_frames(
        client, group_uuid, {FRAMES[0]: {"weather": "rainy"}, FRAMES[1]: {"frame": 1}}
    )
    assert len(outcome.patched) == 1 and len(outcome.unchanged) == 1
    assert read_group_frames(client, group_uuid)[FRAMES[0]] == {
        "frame": 0,
        "weather": "rainy",
    }
    encord_emulator.reset_counters()
    again = patch_group_frames(client, group_uuid, {FRAMES[1]: {"frame": 1}})
    assert again.unchanged and not again.patched
    assert PATCH not in encord_emulator.counters()


def test_bad_frames_fail_alone_keyed_by_url(
    client: EncordClient, folder: str, encord_integration: str
) -> None:
    sync_schema(client, DeclaredSchema.of(enum("weather", ["sunny", "rainy"])))
    group_uuid = _register_group(client, folder, encord_integration, {})
    stranger = image_url(99)
    outcome = patch_group_frames(
        client,
        group_uuid,
        {
            FRAMES[0]: {"weather": "sunny"},
            FRAMES[1]: {"weather": "hail"},  # refused by Encord's schema check
            FRAMES[2]: {"weather": "rainy"},
            stranger: {"weather": "sunny"},
        },
        batch_size=3,
    )
    assert set(outcome.errors) == {FRAMES[1], stranger}
    assert "'weather'" in outcome.errors[FRAMES[1]] and "hail" in outcome.errors[FRAMES[1]]
    assert f"not a frame of image group {group_uuid}" in outcome.errors[stranger]
    assert read_group_frames(client, group_uuid) == {
        FRAMES[0]: {"weather": "sunny"},
        FRAMES[1]: {},
        FRAMES[2]: {"weather": "rainy"},
    }


def test_unknown_group_names_the_group(client: EncordClient) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(EncordNotFoundError, match=f"frames of image group {missing}"):
        patch_group_frames(client, missing, {image_url(0): {"k": 1}})
