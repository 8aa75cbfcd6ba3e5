"""Two real processes ingesting and planning one pipeline at once never put a file in two
chunks, and lose none."""

from __future__ import annotations

import multiprocessing

import pytest

from dagster_encord.ledger import ChunkState, FileState, Ledger

from .workers import ingest_and_plan


def run_two_planners(url: str) -> None:
    Ledger(url, pipeline="shared").close()  # create the tables once, before the race
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    # Overlapping listings: 0..3999(+growth) and 2000..5999(+growth).
    workers = [
        context.Process(target=ingest_and_plan, args=(url, start, offset, 4000, 3))
        for offset in (0, 2000)
    ]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(240)
        assert worker.exitcode == 0

    ledger = Ledger(url, pipeline="shared")
    expected = {f"s3://bucket/f/{n:06d}.jpg" for n in range(0, 2000 + 4000 + 200)}
    seen: list[str] = []
    chunks = ledger.chunks_in_state(ChunkState.PLANNED)
    assert len(chunks) > 2
    for chunk in chunks:
        urls = [e["objectUrl"] for e in ledger.chunk(chunk.chunk_id).manifest_payload()["images"]]
        assert len(urls) == chunk.file_count
        assert sorted(urls) == ledger.chunk_object_urls(chunk.chunk_id)
        seen += urls
    assert len(seen) == len(set(seen)), "a file was planned into two chunks"
    assert set(seen) == expected
    counts = ledger.counts()
    assert counts[FileState.PLANNED] == len(expected) and counts.listed == len(expected)


def test_two_processes_sqlite(sqlite_url: str) -> None:
    run_two_planners(sqlite_url)


@pytest.mark.postgres
def test_two_processes_postgres(pg_url: str) -> None:
    run_two_planners(pg_url)
