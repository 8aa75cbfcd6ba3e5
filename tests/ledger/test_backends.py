"""SQLite and PostgreSQL plan the same listing into the same chunks, byte for byte."""

from __future__ import annotations

import pytest

from dagster_encord.ledger import Ledger
from dagster_encord.planner import PlannerConfig, plan_records

from .helpers import rec


@pytest.mark.postgres
@pytest.mark.parametrize("batch_size", [10_000, 500], ids=["read-at-once", "paged"])
def test_same_chunks_on_both_backends_and_in_memory(
    sqlite_url: str, pg_url: str, batch_size: int
) -> None:
    # Mixed case, punctuation and non-ASCII keys: a locale collation would order these
    # differently from code points, and with it the chunk boundaries. Up to a batch of pending
    # files is read at once and sorted in Python; more are paged in the database's key order.
    stems = ["B", "a", "_x", "a.b", "a_b", "a-b", "Ä", "z", "é", "ß", "10", "9"]
    records = [rec(f"{stem}/{n:04d}.jpg") for stem in stems for n in range(300)]
    config = PlannerConfig(budget={"image": 200})
    manifests = []
    for url in (sqlite_url, pg_url):
        ledger = Ledger(url, pipeline="same", batch_size=batch_size)
        ledger.ingest([records], "s3://bucket")
        planned = ledger.plan(config).chunks
        manifests.append({c.chunk_id: ledger.chunk(c.chunk_id).manifest for c in planned})
        ledger.close()
    in_memory = {
        c.chunk_id: c.manifest_text()
        for c in plan_records(records, config, namespace="same").chunks
    }
    assert len(in_memory) > 10
    assert manifests[0] == manifests[1] == in_memory
