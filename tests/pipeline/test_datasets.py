"""Dataset sync through the pipeline: files on moto S3 registered in the Encord emulator and linked
to datasets by rule (`run` materializes `encord_datasets` after registration and metadata).

Each test reads Encord through the real SDK and counts the emulator's requests; nothing of the
package is mocked. The crash test makes the ledger's record of a link call fail once, as a kill
between the call and the record would.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from encord import EncordUserClient
from encord.orm.dataset import DatasetUserRole, StorageLocation

from dagster_encord.config import pipeline_config
from dagster_encord.dagster.runner import RunSummary, run_pipeline
from dagster_encord.errors import ConfigError
from dagster_encord.ledger import DatasetLinks, FileState, Ledger, LinkState
from dagster_encord.quickstart.sample_media import png
from tests.pipeline.harness import Harness

LINK = "legacy datasetlinkitems.POST"
LIST_ROWS = "legacy datarows.GET"
TRAIN_VAL = [
    {"title": "cams-train", "include": ["site A/**"], "where": {"split": "train"}},
    {"title": "cams-val", "include": ["site B/**"]},
]


class SimulatedKill(Exception):
    """Stands for a kill at one line: nothing after it runs in this process."""


def _run(harness: Harness, **overrides: Any) -> RunSummary:
    config = pipeline_config(harness.config(**overrides))
    return run_pipeline(config, harness.instance, once=True, max_seconds=120)


def _put(harness: Harness, files: dict[str, dict[str, Any] | None]) -> None:
    """Images, each with a sidecar `<key>.json` when metadata is given."""
    for n, (key, metadata) in enumerate(files.items()):
        harness.put({key: png(2, 2, (n, n, n))})
        if metadata is not None:
            harness.put({f"{key}.json": json.dumps(metadata).encode()})


def _user(harness: Harness, key: str) -> EncordUserClient:
    return EncordUserClient.create_with_ssh_private_key(key, domain=harness.emulator.domain)


def _dataset_items(user: EncordUserClient, title: str) -> set[str]:
    """The storage items in the dataset titled `title`, read through the SDK."""
    (found,) = user.get_datasets(title_eq=title)
    dataset = user.get_dataset(found["dataset"].dataset_hash)
    return {str(row.backing_item_uuid) for row in dataset.data_rows}


def _items_by_key(harness: Harness) -> dict[str, str]:
    ledger = Ledger(harness.ledger_url, pipeline=harness.name)
    return {row.key: row.item_uuid for row in ledger.files_in_state() if row.item_uuid}


def _writes(counters: dict[str, int]) -> dict[str, int]:
    """Requests that change something in Encord (legacy RPCs are all POSTs on the wire)."""

    def is_write(endpoint: str) -> bool:
        if endpoint.startswith("legacy "):
            return not endpoint.endswith(".GET")
        if endpoint.startswith("POST"):
            return not endpoint.endswith("/get-bulk")
        return endpoint.startswith(("PATCH", "PUT", "DELETE", "unrouted"))

    return {endpoint: n for endpoint, n in counters.items() if is_write(endpoint)}


def _metadata(harness: Harness) -> dict[str, Any]:
    event = harness.instance.get_latest_materialization_event(
        dg.AssetKey([harness.name, "encord_datasets"])
    )
    assert event is not None and event.asset_materialization is not None
    return {key: value.value for key, value in event.asset_materialization.metadata.items()}


def test_files_are_linked_by_rule_and_a_rerun_writes_nothing(
    harness: Harness, encord_ssh_key: str
) -> None:
    _put(
        harness,
        {
            "site A/1.png": {"split": "train"},
            "site A/2.png": {"split": "val"},
            "site B/3.png": {"split": "train"},
            "site C/4.png": None,
        },
    )
    options = {"datasets": TRAIN_VAL, "metadata": {"sidecar": "append"}}
    first = _run(harness, **options)
    assert first.ok, first
    assert not [e for e in harness.emulator.counters() if e.startswith("unrouted")]
    items = _items_by_key(harness)
    user = _user(harness, encord_ssh_key)
    assert _dataset_items(user, "cams-train") == {items["site A/1.png"]}
    assert _dataset_items(user, "cams-val") == {items["site B/3.png"]}
    ledger = Ledger(harness.ledger_url, pipeline=harness.name)
    assert {row.key for row in ledger.files_in_state(FileState.LINKED)} == {
        "site A/1.png",
        "site B/3.png",
    }
    assert ledger.counts().reconciles
    metadata = _metadata(harness)
    assert metadata["files_linked"] == 2 and metadata["datasets_created"] == 2
    assert metadata["linked [cams-train]"] == 1 and metadata["files in [cams-val]"] == 1
    assert metadata["encord_writes"] == 4  # two datasets created, one link call each
    (train,) = user.get_datasets(title_eq="cams-train")
    link = metadata["dataset [cams-train]"]
    assert link == f"{harness.emulator.domain}/view/datasets/{train['dataset'].dataset_hash}"
    with urllib.request.urlopen(link, timeout=30) as page:  # a person can open it
        assert "1 data rows" in page.read().decode()

    harness.emulator.reset_counters()
    again = _run(harness, **options)
    assert again.ok, again
    counters = harness.emulator.counters()
    assert _writes(counters) == {}
    assert LINK not in counters and LIST_ROWS not in counters
    assert _metadata(harness)["encord_calls"] == 2  # one lookup per dataset
    assert _dataset_items(user, "cams-train") == {items["site A/1.png"]}


def test_a_file_whose_metadata_changes_moves_between_datasets(
    harness: Harness, encord_ssh_key: str, tmp_path: Path
) -> None:
    schema = tmp_path / "schema.yaml"
    schema.write_text("keys:\n  split: {enum: [train, val]}\n")
    _put(harness, {"a.png": {"split": "train"}, "b.png": {"split": "val"}})
    datasets = [
        {"title": "train", "where": {"split": "train"}},
        {"title": "val", "where": {"split": "val"}},
    ]
    options = {"datasets": datasets, "metadata": {"schema": str(schema)}}
    assert _run(harness, **options).ok
    items = _items_by_key(harness)
    user = _user(harness, encord_ssh_key)
    assert _dataset_items(user, "train") == {items["a.png"]}

    harness.put({"a.png.json": json.dumps({"split": "val"}).encode()})
    assert _run(harness, **options).ok
    assert _dataset_items(user, "train") == set()
    assert _dataset_items(user, "val") == {items["a.png"], items["b.png"]}
    assert user.get_storage_item(items["a.png"]).client_metadata == {"split": "val"}
    metadata = _metadata(harness)
    assert metadata["unlinked [train]"] == 1 and metadata["linked [val]"] == 1
    links = Ledger(harness.ledger_url, pipeline=harness.name).dataset_links.links()
    assert sorted(link.key for link in links) == ["a.png", "b.png"]


@pytest.mark.parametrize("on_delete", ["keep", "unlink", "delete"])
def test_a_file_deleted_from_the_bucket_follows_on_delete(
    harness: Harness, encord_ssh_key: str, on_delete: str
) -> None:
    import boto3

    _put(harness, {"a.png": None, "b.png": None})
    options = {"datasets": [{"title": "all"}], "on_delete": on_delete}
    assert _run(harness, **options).ok
    items = _items_by_key(harness)
    user = _user(harness, encord_ssh_key)
    assert _dataset_items(user, "all") == set(items.values())

    boto3.client("s3", endpoint_url=harness.endpoint).delete_object(
        Bucket=harness.bucket, Key="a.png"
    )
    assert _run(harness, **options).ok
    assert not [e for e in harness.emulator.counters() if e.startswith("unrouted")]
    ledger = Ledger(harness.ledger_url, pipeline=harness.name)
    gone = ledger.file("a.png")
    assert gone is not None and gone.state == FileState.DELETED
    in_folder = {item.uuid for item in harness.emulator.items(harness.folder_uuid)}
    metadata = _metadata(harness)
    if on_delete == "keep":
        assert _dataset_items(user, "all") == set(items.values())
        assert metadata["deleted_files_kept"] == 1 and metadata["files_unlinked"] == 0
    else:
        assert _dataset_items(user, "all") == {items["b.png"]}
        assert metadata["files_unlinked"] == 1
    assert (items["a.png"] in in_folder) == (on_delete != "delete")
    assert metadata["items_deleted"] == (1 if on_delete == "delete" else 0)
    assert (gone.item_uuid is None) == (on_delete == "delete")

    harness.emulator.reset_counters()
    assert _run(harness, **options).ok
    assert _writes(harness.emulator.counters()) == {}


def test_a_crash_between_the_link_call_and_its_record_is_healed_without_linking_again(
    harness: Harness, encord_ssh_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _put(harness, {f"cam/{n}.png": None for n in range(3)})
    options = {"datasets": [{"title": "all"}]}
    record = DatasetLinks.record_linked

    def killed(self: DatasetLinks, dataset_hash: str, rows: Any) -> int:
        if rows:
            raise SimulatedKill("killed after the link call, before its record")
        return record(self, dataset_hash, rows)

    with monkeypatch.context() as patch:
        patch.setattr(DatasetLinks, "record_linked", killed)
        crashed = _run(harness, **options)
    assert crashed.failed_steps == ["encord_datasets"]
    ledger = Ledger(harness.ledger_url, pipeline=harness.name)
    assert {link.state for link in ledger.dataset_links.links()} == {LinkState.LINKING}
    items = _items_by_key(harness)
    user = _user(harness, encord_ssh_key)
    assert _dataset_items(user, "all") == set(items.values())  # the call landed

    harness.emulator.reset_counters()
    healed = _run(harness, **options)
    assert healed.ok, healed
    counters = harness.emulator.counters()
    assert LINK not in counters and counters[LIST_ROWS] == 1
    links = ledger.dataset_links.links()
    assert {link.state for link in links} == {LinkState.LINKED} and len(links) == 3
    assert _metadata(harness)["links_healed"] == 3
    assert ledger.counts()[FileState.LINKED] == 3
    assert harness.emulator.duplicate_items() == 0


def test_a_group_is_linked_as_one_item(harness: Harness, encord_ssh_key: str) -> None:
    frames = {f"seq/cam-1/frame_{n}.png": None for n in range(3)}
    _put(harness, {**frames, "single.png": None})
    planner = {"groups": [{"kind": "image_sequence", "by": "folder", "match": "seq/**"}]}
    assert _run(harness, datasets=[{"title": "all"}], planner=planner).ok
    items = _items_by_key(harness)
    assert len({items[key] for key in frames}) == 1
    assert _dataset_items(_user(harness, encord_ssh_key), "all") == set(items.values())
    links = Ledger(harness.ledger_url, pipeline=harness.name).dataset_links.links()
    assert len(links) == 4 and len({link.data_hash for link in links}) == 2
    assert _metadata(harness)["files_linked"] == 4


def test_where_key_not_in_the_schema_is_a_config_error(harness: Harness, tmp_path: Path) -> None:
    schema = tmp_path / "schema.yaml"
    schema.write_text("keys:\n  split: {enum: [train, val]}\n")
    datasets = [{"title": "train", "where": {"spilt": "train"}}]
    with pytest.raises(ConfigError, match=r"datasets\[0\] \(train\)\.where: key 'spilt' is not"):
        harness.defs(datasets=datasets, metadata={"schema": str(schema)})


def _sync_error(harness: Harness, **overrides: Any) -> str:
    """Materialize `encord_datasets` alone; the message it failed with."""
    defs = harness.defs(**overrides)
    result = harness.driver(defs).materialize("encord_datasets")
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    error = failure.step_failure_data.error
    assert error is not None
    return error.message + "".join(cause.message for cause in [error.cause] if cause is not None)


def test_a_title_two_datasets_share_is_a_clear_error(harness: Harness, encord_ssh_key: str) -> None:
    user = _user(harness, encord_ssh_key)
    for _ in range(2):
        user.create_dataset("cams-train", StorageLocation.AWS, create_backing_folder=False)
    message = _sync_error(harness, datasets=[{"title": "cams-train"}])
    assert "'cams-train'" in message and "2 datasets have this title" in message


def test_a_user_without_the_admin_role_is_a_clear_error(
    harness: Harness, encord_ssh_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = _user(harness, encord_ssh_key)
    created = owner.create_dataset("cams-train", StorageLocation.AWS, create_backing_folder=False)
    owner.get_dataset(created.dataset_hash).add_users(["viewer@example.com"], DatasetUserRole.USER)
    monkeypatch.setenv("VIEWER_KEY", harness.emulator.new_ssh_key(user="viewer@example.com"))
    message = _sync_error(
        harness, datasets=[{"title": "cams-train"}], encord={"ssh_private_key_env": "VIEWER_KEY"}
    )
    assert "'cams-train'" in message and "has the user role" in message
    assert "make this user an admin" in message
