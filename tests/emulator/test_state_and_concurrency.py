"""SQLite state across restarts (including a job left pending), and several clients at once while
a long poll is held."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from encord import EncordUserClient
from encord.orm.dataset import StorageLocation

from dagster_encord.emulator import EncordEmulator


def client_for(emulator: EncordEmulator, key: str) -> EncordUserClient:
    return EncordUserClient.create_with_ssh_private_key(key, domain=emulator.domain)


def test_restart_keeps_everything_and_resumes_pending_jobs(tmp_path: Path) -> None:
    state = tmp_path / "encord.sqlite"
    with EncordEmulator(state_path=state) as first:
        key = first.new_ssh_key()
        integration = first.add_integration("bucket", "gcp")
        client = client_for(first, key)
        folder = client.create_storage_folder("persisted", client_metadata={"a": 1})
        job = folder.add_private_data_to_folder_start(
            integration, {"images": [{"objectUrl": "gs://b/1.jpg", "clientMetadata": {"k": "v"}}]}
        )
        assert folder.add_private_data_to_folder_get_result(job).status.value == "DONE"
        schema = client.metadata_schema()
        schema.add_scalar("k", data_type="varchar")
        schema.save()
        dataset = client.create_dataset("ds", StorageLocation.GCP)
        item_uuid = next(iter(folder.list_items())).uuid
        client.get_dataset(dataset.dataset_hash).link_items([item_uuid])
        project_hash = client.create_project("proj", [dataset.dataset_hash])
        first.stall_jobs(1)
        stalled = folder.add_private_data_to_folder_start(
            integration, {"images": [{"objectUrl": "gs://b/2.jpg"}]}
        )
    with EncordEmulator(state_path=state) as second:
        client = client_for(second, key)
        folder = client.get_storage_folder(folder.uuid)
        assert folder.client_metadata == {"a": 1}
        (item,) = folder.list_items()
        assert (item.url, item.client_metadata, item.storage_location.value) == (
            "gs://b/1.jpg",
            {"k": "v"},
            "gcp",
        )
        assert client.metadata_schema().get_key_type("k") == "varchar"
        assert [
            r.backing_item_uuid for r in client.get_dataset(dataset.dataset_hash).data_rows
        ] == [item.uuid]
        assert len(client.get_project(project_hash).list_label_rows_v2()) == 1
        assert (
            folder.add_private_data_to_folder_get_result(stalled, timeout_seconds=1).status.value
            == "PENDING"
        )
        second.release_jobs()
        assert folder.add_private_data_to_folder_get_result(stalled).units_done_count == 1


def test_many_clients_while_a_poll_is_held(
    encord_emulator: EncordEmulator, encord_integration: str
) -> None:
    keys = [encord_emulator.new_ssh_key(f"user{n}@example.com") for n in range(4)]
    clients = [client_for(encord_emulator, key) for key in keys]
    folder = clients[0].create_storage_folder("shared")
    encord_emulator.stall_jobs(1)
    stalled = folder.add_private_data_to_folder_start(
        encord_integration, {"images": [{"objectUrl": "s3://b/s.jpg"}]}
    )
    held = threading.Thread(
        target=lambda: folder.add_private_data_to_folder_get_result(stalled, timeout_seconds=4)
    )
    held.start()
    time.sleep(0.2)

    def work(n: int) -> int:
        client = clients[n % len(clients)]
        own = client.get_storage_folder(folder.uuid)
        spec = {"images": [{"objectUrl": f"s3://b/{n}/{i}.jpg"} for i in range(50)]}
        job = own.add_private_data_to_folder_start(encord_integration, spec)
        return own.add_private_data_to_folder_get_result(job).units_done_count

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        done = list(pool.map(work, range(16)))
    elapsed = time.monotonic() - started
    assert done == [50] * 16
    assert elapsed < 3.5  # finished while the stalled job's poll was still being held
    assert held.is_alive()
    held.join()
    assert len(list(folder.list_items(page_size=1000))) == 800
    assert encord_emulator.duplicate_items() == 0
