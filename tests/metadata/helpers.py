"""Shared set-up for metadata tests against the Encord emulator: register images for real."""

from __future__ import annotations

import time

from dagster_encord.encord_client.client import EncordClient

BUCKET_URL = "https://cams.s3.eu-west-2.amazonaws.com"


def image_url(index: int) -> str:
    return f"{BUCKET_URL}/site/{index:06d}.jpg"


def register_images(
    client: EncordClient,
    folder: str,
    integration_uuid: str,
    count: int,
    metadata: dict[int, dict[str, object]] | None = None,
) -> dict[str, str]:
    """Register `count` images through a real upload job; return object URL -> item uuid."""
    entries = []
    for index in range(count):
        entry: dict[str, object] = {"objectUrl": image_url(index)}
        if metadata and index in metadata:
            entry["clientMetadata"] = metadata[index]
        entries.append(entry)
    job_id = client.start_upload_job(folder, integration_uuid, {"images": entries})
    deadline = time.monotonic() + 120
    while True:
        state = client.poll_upload_job(folder, job_id)
        if state.status != "PENDING":
            break
        assert time.monotonic() < deadline, "upload job did not finish"
        time.sleep(0.05)
    assert state.status == "DONE", state
    by_name = {item.name: item.item_uuid for item in state.items}
    assert len(by_name) == count, state
    return {image_url(i): by_name[image_url(i).removeprefix(BUCKET_URL)] for i in range(count)}
