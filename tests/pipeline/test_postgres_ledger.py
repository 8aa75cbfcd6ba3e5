"""The same pipeline with its ledger on PostgreSQL (the production setting)."""

from __future__ import annotations

import pytest

from dagster_encord.ledger import Ledger
from dagster_encord.quickstart.sample_media import planner_groups, sample_files
from tests.pipeline.harness import Harness


@pytest.mark.postgres
def test_pipeline_on_a_postgres_ledger(harness: Harness, pg_url: str) -> None:
    harness.ledger_url = pg_url
    files = sample_files()
    harness.put(files)
    defs = harness.defs(
        planner={"groups": planner_groups()},
        heal_after_seconds=0.0,
    )
    harness.emulator.drop_connections(path="*/data-upload-jobs", method="POST")
    runs = harness.tick(defs, "new_objects")
    assert len(runs) == 4 and sum(not run.success for run in runs) == 1
    for _ in range(3):
        assert all(run.success for run in harness.tick(defs, "job_status"))
    ledger = Ledger(pg_url, pipeline=harness.name)
    assert ledger.counts().registered == len(files)
    assert ledger.counts().reconciles
    assert harness.emulator.duplicate_items() == 0
