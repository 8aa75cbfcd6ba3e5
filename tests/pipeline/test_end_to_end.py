"""From a moto bucket to items in an Encord emulator folder, through materialize and sensors."""

from __future__ import annotations

import urllib.request

import dagster as dg

from dagster_encord.ledger import ChunkState, FileState, Ledger
from dagster_encord.quickstart.sample_media import planner_groups, png, sample_files
from tests.pipeline.harness import Harness


def _ledger(harness: Harness) -> Ledger:
    return Ledger(harness.ledger_url, pipeline=harness.name)


def test_materialize_registers_every_sample_file(harness: Harness) -> None:
    files = sample_files()
    harness.put(files)
    defs = harness.defs(planner={"groups": planner_groups()})
    # Resolved from the Definitions, the assets carry their EncordResource and LedgerResource.
    assets = [
        defs.resolve_assets_def(dg.AssetKey(["cams", name]))
        for name in ("bucket_listing", "manifest_chunks", "upload_jobs", "registered_files")
    ]
    listing = dg.materialize(assets, instance=harness.instance, selection=[assets[0]])
    assert listing.success
    chunk_ids = harness.chunk_ids()
    assert len(chunk_ids) == 4  # one chunk per lane: images, videos, sequence, DICOM series
    for chunk_id in chunk_ids:
        result = dg.materialize(
            assets,
            instance=harness.instance,
            partition_key=chunk_id,
            selection=assets[1:],
        )
        assert result.success
        registered = result.asset_materializations_for_node("cams__registered_files")[0]
        assert registered.metadata["registered"].value >= 1
        assert registered.metadata["failures"].value == 0
    counts = _ledger(harness).counts()
    assert counts.registered == len(files)
    assert counts.reconciles
    items = harness.emulator.items(harness.folder_uuid)
    # 6 images + 2 videos + 1 image sequence + 1 DICOM series
    assert len(items) == 10
    assert harness.emulator.duplicate_items() == 0
    assert {row.item_uuid for row in _ledger(harness).files_in_state(FileState.REGISTERED)} == {
        item.uuid for item in items
    }


def test_unchanged_bucket_makes_no_encord_request(harness: Harness) -> None:
    harness.put(sample_files())
    defs = harness.defs(planner={"groups": planner_groups()})
    for run in harness.tick(defs, "new_objects"):
        assert run.success
    harness.emulator.reset_counters()
    assert harness.materialize_listing(defs).success
    assert harness.tick(defs, "new_objects") == []
    assert harness.tick(defs, "retries") == []
    assert harness.tick(defs, "job_status") == []
    assert harness.emulator.counters() == {}
    assert len(harness.chunk_ids()) == len(_ledger(harness).chunks_in_state(ChunkState.COMPLETED))


def test_folder_and_integration_by_title(harness: Harness) -> None:
    harness.put({"a/one.png": sample_files()["images/sample_000.png"]})
    (folder,) = [f for f in harness.emulator.folders() if f.uuid == harness.folder_uuid]
    defs = harness.defs(folder=folder.name, integration="test-s3")
    runs = harness.tick(defs, "new_objects")
    assert len(runs) == 1 and runs[0].success
    (item,) = harness.emulator.items(harness.folder_uuid)
    assert item.url is not None and item.url.endswith("a/one.png")
    materializations = [
        event.event_specific_data.materialization  # type: ignore[union-attr]
        for event in runs[0].get_asset_materialization_events()
    ]
    registered = next(m for m in materializations if m.asset_key.path[-1] == "registered_files")
    assert registered.metadata["registered"].value == 1
    link = str(registered.metadata["folder"].value)
    assert link == f"{harness.emulator.domain}/view/folders/{harness.folder_uuid}"
    with urllib.request.urlopen(link, timeout=30) as page:  # a person can open it
        assert page.status == 200 and "a/one.png" in page.read().decode()
    assert isinstance(registered.metadata["seconds"].value, float)


def test_submissions_run_in_one_pool_per_folder(harness: Harness) -> None:
    defs = harness.defs()
    upload_jobs = defs.resolve_assets_def(dg.AssetKey(["cams", "upload_jobs"]))
    assert upload_jobs.op.pool == f"encord-folder-{harness.folder_uuid}"
    other = harness.defs(pool="encord-shared")
    assert other.resolve_assets_def(dg.AssetKey(["cams", "upload_jobs"])).op.pool == "encord-shared"
    for asset in ("bucket_listing", "manifest_chunks", "registered_files"):
        assert defs.resolve_assets_def(dg.AssetKey(["cams", asset])).op.pool is None
    chunks = defs.resolve_assets_def(dg.AssetKey(["cams", "manifest_chunks"])).partitions_def
    assert isinstance(chunks, dg.DynamicPartitionsDefinition) and chunks.name == "cams__chunks"


def test_metadata_provider_puts_client_metadata_inline(harness: Harness) -> None:
    from dagster_encord.metadata.sources import FromCallable

    harness.put({"m/a.png": png(2, 2, (1, 1, 1)), "m/b.png": png(2, 2, (2, 2, 2))})
    provider = FromCallable(lambda record: {"split": "val", "source_key": record.key})
    defs = harness.defs(metadata_provider=provider)
    harness.emulator.reset_counters()
    runs = harness.tick(defs, "new_objects")
    assert len(runs) == 1 and runs[0].success
    items = {item.name: item for item in harness.emulator.items(harness.folder_uuid)}
    assert len(items) == 2
    for item in items.values():
        assert item.client_metadata["split"] == "val"
        assert item.name.endswith(item.client_metadata["source_key"])
    # Registration carried the metadata: no item was patched afterwards.
    assert not [name for name in harness.emulator.counters() if name.startswith("PATCH")]
