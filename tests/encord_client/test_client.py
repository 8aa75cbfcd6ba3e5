"""`EncordClient` against the emulator through the real SDK: jobs, polls, 429s, errors."""

from __future__ import annotations

import time
import uuid

import boto3
import pytest
from encord import EncordUserClient

from dagster_encord.emulator import EncordEmulator
from dagster_encord.encord_client.client import EncordClient, RequestSettings
from dagster_encord.errors import EncordNotFoundError, EncordRateLimitedError
from dagster_encord.quickstart.sample_media import png


@pytest.fixture
def setup(
    encord_emulator: EncordEmulator,
    encord_ssh_key: str,
    encord_integration: str,
    s3_bucket: tuple[str, str],
) -> tuple[EncordClient, str, str, list[str]]:
    endpoint, bucket = s3_bucket
    s3 = boto3.client("s3", endpoint_url=endpoint)
    urls = []
    for index in range(3):
        s3.put_object(Bucket=bucket, Key=f"c/{index}.png", Body=png(2, 2, (index, 0, 0)))
        urls.append(f"{endpoint}/{bucket}/c/{index}.png")
    user = EncordUserClient.create_with_ssh_private_key(
        encord_ssh_key, domain=encord_emulator.domain
    )
    folder = user.create_storage_folder(f"f-{uuid.uuid4().hex[:6]}")
    client = EncordClient.from_ssh_key(
        encord_ssh_key,
        domain=encord_emulator.domain,
        settings=RequestSettings(max_retries=0, backoff_factor=0.01),
    )
    return client, str(folder.uuid), encord_integration, urls


def _manifest(urls: list[str]) -> dict[str, object]:
    return {"images": [{"objectUrl": url} for url in urls]}


def _wait(client: EncordClient, folder: str, job_id: str) -> object:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = client.poll_upload_job(folder, job_id)
        if state.finished:
            return state
        time.sleep(0.1)
    raise AssertionError("job did not finish")


def test_start_poll_and_resubmit_without_duplicates(
    setup: tuple[EncordClient, str, str, list[str]], encord_emulator: EncordEmulator
) -> None:
    client, folder, integration, urls = setup
    encord_emulator.fail_url(urls[2], "File not found")
    job_id = client.start_upload_job(folder, integration, _manifest(urls))
    state = _wait(client, folder, job_id)
    assert state.status == "DONE"  # type: ignore[attr-defined]
    assert len(state.items) == 2  # type: ignore[attr-defined]
    (failure,) = state.failures  # type: ignore[attr-defined]
    assert failure.object_urls == (urls[2],) and failure.kind == "permanent"
    # A resubmission of the same manifest reports the existing items and creates none.
    again = _wait(client, folder, client.start_upload_job(folder, integration, _manifest(urls[:2])))
    assert {i.item_uuid for i in again.items} == {i.item_uuid for i in state.items}  # type: ignore[attr-defined]
    assert encord_emulator.duplicate_items() == 0
    assert sorted(item.url or "" for item in client.iter_folder_items(folder)) == urls[:2]


def test_poll_429_is_reported_not_raised(
    setup: tuple[EncordClient, str, str, list[str]], encord_emulator: EncordEmulator
) -> None:
    client, folder, integration, urls = setup
    job_id = client.start_upload_job(folder, integration, _manifest(urls))
    encord_emulator.rate_limit(path="*/data-upload-jobs/*", method="GET", retry_after=7)
    state = client.poll_upload_job(folder, job_id)
    assert state.rate_limited and state.retry_after == 7.0 and state.status == "PENDING"
    assert _wait(client, folder, job_id).status == "DONE"  # type: ignore[attr-defined]


def test_cancel_job(
    setup: tuple[EncordClient, str, str, list[str]], encord_emulator: EncordEmulator
) -> None:
    client, folder, integration, urls = setup
    encord_emulator.stall_jobs(1)
    job_id = client.start_upload_job(folder, integration, _manifest(urls))
    assert client.cancel_upload_job(folder, job_id) == 3
    assert client.poll_upload_job(folder, job_id).status == "CANCELLED"


def test_folder_and_integration_errors_name_the_thing(
    setup: tuple[EncordClient, str, str, list[str]], encord_emulator: EncordEmulator
) -> None:
    client, _folder, integration, _ = setup
    with pytest.raises(EncordNotFoundError, match="no folder has this title"):
        client.resolve_folder("no-such-folder")
    with pytest.raises(EncordNotFoundError, match="'no-such-integration'"):
        client.resolve_integration("no-such-integration")
    assert client.resolve_integration("test-s3").integration_uuid == integration
    encord_emulator.rate_limit(path="*/cloud-integrations", method="GET", retry_after=3)
    with pytest.raises(EncordRateLimitedError) as limited:
        client.resolve_integration("test-s3")
    assert limited.value.retry_after == 3.0
    assert repr(client) == f"EncordClient(domain={encord_emulator.domain!r})"
