"""Each kind of fault, observed through the SDK: HTTP statuses for N requests, 429 with
Retry-After, latency, dropped connections, per-URL job failures and stalled jobs."""

from __future__ import annotations

import time

import pytest
from encord import EncordUserClient
from encord.exceptions import RateLimitExceededError, RequestException, UnknownException
from encord.orm.dataset import StorageLocation

from dagster_encord.emulator import EncordEmulator

FOLDERS = "GET /v2/public/storage/folders/{folder_uuid}"


def test_status_for_next_n_requests_is_retried_transparently(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient
) -> None:
    folder = encord_user_client.create_storage_folder("f")
    encord_emulator.fail_requests(503, path="/v2/public/storage/folders/*", method="GET", count=1)
    encord_emulator.reset_counters()
    assert encord_user_client.get_storage_folder(folder.uuid).name == "f"  # 503 then 200
    assert encord_emulator.counters() == {FOLDERS: 2}


def test_status_is_not_retried_for_job_creation(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    folder = encord_user_client.create_storage_folder("f")
    encord_emulator.fail_requests(500, path="*/data-upload-jobs", method="POST", count=5)
    encord_emulator.reset_counters()
    with pytest.raises(UnknownException, match="injected fault"):
        folder.add_private_data_to_folder_start(
            encord_integration, {"images": [{"objectUrl": "s3://b/a.jpg"}]}
        )
    assert sum(encord_emulator.counters().values()) == 1
    assert encord_emulator.items() == []


def test_rate_limit_with_retry_after(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient
) -> None:
    encord_emulator.rate_limit(path="GET /v2/public/cloud-integrations", count=4, retry_after=1)
    started = time.monotonic()
    with pytest.raises(RateLimitExceededError) as raised:
        encord_user_client.get_cloud_integrations()
    assert raised.value.retry_after == 1
    assert time.monotonic() - started >= 2.9  # the SDK slept Retry-After between its 4 attempts
    assert encord_user_client.get_cloud_integrations() == []  # the fault is used up


def test_legacy_rate_limit(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient
) -> None:
    created = encord_user_client.create_dataset("d", dataset_type=StorageLocation.AWS)
    encord_emulator.rate_limit(path="legacy dataset.GET", count=1, retry_after=0)
    assert encord_user_client.get_dataset(created.dataset_hash).title == "d"
    assert encord_emulator.counters()["legacy dataset.GET"] == 2


def test_added_latency(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient
) -> None:
    encord_emulator.add_latency(0.3, path="*/cloud-integrations")
    started = time.monotonic()
    encord_user_client.get_cloud_integrations()
    assert time.monotonic() - started >= 0.3
    encord_emulator.clear_faults()
    started = time.monotonic()
    encord_user_client.get_cloud_integrations()
    assert time.monotonic() - started < 0.3


def test_dropped_connection(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient
) -> None:
    encord_emulator.drop_connections(path="*/cloud-integrations", count=1)
    with pytest.raises(RequestException, match=r"session\.send failed"):
        encord_user_client.get_cloud_integrations()  # the cut-off response is not retried
    assert encord_user_client.get_cloud_integrations() == []


def test_transient_and_permanent_url_failures(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    folder = encord_user_client.create_storage_folder("urls")
    encord_emulator.fail_url("s3://b/flaky.jpg", "Timed out reading object", attempts=2)
    encord_emulator.fail_url("s3://b/gone.jpg", "Access denied")
    spec = {
        "images": [{"objectUrl": "s3://b/flaky.jpg"}, {"objectUrl": "s3://b/gone.jpg"}],
        "skip_duplicate_urls": True,
    }
    errors = []
    for _ in range(3):
        job = folder.add_private_data_to_folder_start(encord_integration, spec, ignore_errors=True)
        result = folder.add_private_data_to_folder_get_result(job)
        errors.append(sorted(url for e in result.unit_errors for url in e.object_urls))
    assert errors == [["s3://b/flaky.jpg", "s3://b/gone.jpg"]] * 2 + [["s3://b/gone.jpg"]]
    assert "Access denied: s3://b/gone.jpg" in result.unit_errors[0].error
    assert [i.url for i in folder.list_items()] == ["s3://b/flaky.jpg"]


def test_stalled_job_holds_the_long_poll_then_finishes(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    folder = encord_user_client.create_storage_folder("stall")
    encord_emulator.stall_jobs(1)
    job = folder.add_private_data_to_folder_start(
        encord_integration, {"images": [{"objectUrl": "s3://b/s.jpg"}]}
    )
    encord_emulator.reset_counters()
    started = time.monotonic()
    pending = folder.add_private_data_to_folder_get_result(job, timeout_seconds=3)
    elapsed = time.monotonic() - started
    assert pending.status.value == "PENDING"
    # The server holds each poll, so the SDK's no-sleep loop sends a few requests, not hundreds.
    assert sum(encord_emulator.counters().values()) <= 3 and elapsed >= 1.5
    assert encord_emulator.release_jobs() == 1
    assert folder.add_private_data_to_folder_get_result(job).status.value == "DONE"


def test_endpoints_the_emulator_lacks_are_counted(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient
) -> None:
    from encord.exceptions import ResourceNotFoundError

    folder = encord_user_client.create_storage_folder("f")
    encord_emulator.reset_counters()
    with pytest.raises(ResourceNotFoundError):
        folder.get_folder_config()  # not emulated
    assert encord_emulator.counters() == {
        f"unrouted GET /v2/public/storage/folders/{folder.uuid}/folder-config": 1
    }
