"""From a moto bucket to items in an Encord emulator folder, through materialize and sensors."""

from __future__ import annotations

from dagster_encord.ledger import Ledger
from dagster_encord.quickstart.sample_media import planner_groups, sample_files
from tests.pipeline.harness import Harness


def _ledger(harness: Harness) -> Ledger:
    return Ledger(harness.ledger_url, pipeline=harness.name)


def test_materialize_registers_every_sample_file(harness: Harness) -> None:
    files = sample_files()
    harness.put(files)
    defs = harness.defs(planner={"groups": planner_groups()})
    assert harness.materialize_listing(defs).success
    chunk_ids = harness.chunk_ids()
    assert chunk_ids
    for chunk_id in chunk_ids:
        assert harness.run_chunk(defs, chunk_id).success
    counts = _ledger(harness).counts()
    assert counts.registered == len(files)
    assert counts.reconciles
    items = harness.emulator.items(harness.folder_uuid)
    # 6 images + 2 videos + 1 image sequence + 1 DICOM series
    assert len(items) == 10
    assert harness.emulator.duplicate_items() == 0
    assert {row.item_uuid for row in _ledger(harness).files_in_state("registered")} == {
        item.uuid for item in items
    }
