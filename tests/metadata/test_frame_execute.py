"""`execute_frame_upserts` against the Encord emulator: frames of several groups patched in one
bulk request and read back; bad frames, strangers and missing groups fail alone, by frame URL."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from dagster_encord.encord_client.client import EncordClient
from dagster_encord.metadata.frame_execute import execute_frame_upserts, read_group_frames
from dagster_encord.metadata.frames import FrameUpdate, plan_frames
from dagster_encord.metadata.schema import DeclaredSchema, enum, scalar
from dagster_encord.metadata.schema_sync import sync_schema
from tests.metadata.helpers import image_url

if TYPE_CHECKING:
    from encord import EncordUserClient

    from dagster_encord.emulator import EncordEmulator

PATCH = "PATCH /v2/public/storage/items/patch-bulk"
SCHEMA = DeclaredSchema.of(scalar("frame", "number"), enum("weather", ["sunny", "rainy"]))


@pytest.fixture
def client(encord_emulator: EncordEmulator, encord_ssh_key: str) -> EncordClient:
    client = EncordClient.from_ssh_key(encord_ssh_key, domain=encord_emulator.domain)
    sync_schema(client, SCHEMA)
    return client


@pytest.fixture
def folder(encord_user_client: EncordUserClient) -> str:
    return str(encord_user_client.create_storage_folder("frames").uuid)


def _register_groups(
    client: EncordClient, folder: str, integration: str, groups: list[list[str]]
) -> list[str]:
    entries = []
    for index, urls in enumerate(groups):
        entry: dict[str, object] = {"title": f"cam-{index}"}
        entry.update({f"objectUrl_{n}": url for n, url in enumerate(urls)})
        entries.append(entry)
    job_id = client.start_upload_job(folder, integration, {"image_groups": entries})
    deadline = time.monotonic() + 60
    while (state := client.poll_upload_job(folder, job_id)).status == "PENDING":
        assert time.monotonic() < deadline, "upload job did not finish"
        time.sleep(0.05)
    assert state.status == "DONE", state
    by_title = {item.name: item.item_uuid for item in state.items}
    return [by_title[f"cam-{index}"] for index in range(len(groups))]


def _update(group: str, frames: dict[str, dict[str, object]]) -> FrameUpdate:
    return FrameUpdate(group, next(iter(frames)), frames, dict.fromkeys(frames, "fp"))


def test_frames_of_several_groups_go_in_one_bulk_patch_and_are_verified(
    client: EncordClient, folder: str, encord_integration: str, encord_emulator: EncordEmulator
) -> None:
    first, second = [image_url(n) for n in range(2)], [image_url(n) for n in range(10, 13)]
    group_a, group_b = _register_groups(client, folder, encord_integration, [first, second])
    updates = [
        _update(group_a, {first[0]: {"frame": 0}, first[1]: {"frame": 1}}),
        _update(group_b, {url: {"frame": n, "weather": "sunny"} for n, url in enumerate(second)}),
    ]
    encord_emulator.reset_counters()
    report = execute_frame_upserts(client, plan_frames(updates))
    assert report.errors == {} and report.patched == 5
    assert report.verified == {*first, *second}
    assert encord_emulator.counters()[PATCH] == 1
    assert read_group_frames(client, group_a) == {
        first[0]: {"frame": 0},
        first[1]: {"frame": 1},
    }
    assert read_group_frames(client, group_b)[second[2]] == {
        "frame": 2,
        "weather": "sunny",
    }

    # Sent again: every frame already holds the keys; no patch, no read-back, still verified.
    encord_emulator.reset_counters()
    again = execute_frame_upserts(client, plan_frames(updates))
    assert (again.patched, again.unchanged, again.errors) == (0, 5, {})
    assert again.verified == {*first, *second}
    assert PATCH not in encord_emulator.counters()


def test_bad_frames_strangers_and_missing_groups_fail_alone_by_url(
    client: EncordClient, folder: str, encord_integration: str
) -> None:
    urls = [image_url(n) for n in range(20, 23)]
    (group,) = _register_groups(client, folder, encord_integration, [urls])
    missing = "00000000-0000-4000-8000-000000000000"
    stranger, lost = image_url(99), image_url(98)
    updates = [
        _update(
            group,
            {
                urls[0]: {"weather": "sunny"},
                urls[1]: {"weather": "hail"},  # refused by Encord's schema check
                urls[2]: {"frame": 2},
                stranger: {"frame": 9},
            },
        ),
        _update(missing, {lost: {"frame": 1}}),
    ]
    report = execute_frame_upserts(client, plan_frames(updates))
    assert set(report.errors) == {urls[1], stranger, lost}
    assert "hail" in report.errors[urls[1]]
    assert f"not a frame of image group {group}" in report.errors[stranger]
    assert missing in report.errors[lost]
    assert report.verified == {urls[0], urls[2]}
    assert read_group_frames(client, group) == {
        urls[0]: {"weather": "sunny"},
        urls[1]: {},
        urls[2]: {"frame": 2},
    }
