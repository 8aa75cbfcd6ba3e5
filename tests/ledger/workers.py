"""Entry points for the multi-process tests (run in spawned interpreters)."""

from __future__ import annotations

from typing import Any

from dagster_encord.ledger import Ledger

from .helpers import rec


def ingest_and_plan(url: str, start: Any, offset: int, count: int, rounds: int) -> None:
    """Wait for the start signal, then alternate ingesting a listing and planning it."""
    ledger = Ledger(url, pipeline="shared", batch_size=500)
    start.wait(60)
    for round_ in range(rounds):
        listing = [rec(f"f/{n:06d}.jpg") for n in range(offset, offset + count + round_ * 100)]
        ledger.ingest([listing], "s3://bucket", complete=False)
        ledger.plan()
    ledger.close()


def write_metadata_hashes(url: str, start: Any, keys: list[str], rounds: int) -> None:
    """Another process writing the ledger: `rounds` metadata-hash transactions on `keys`."""
    ledger = Ledger(url, pipeline="shared")
    start.wait(60)
    for round_ in range(rounds):
        assert ledger.set_metadata_hashes({key: f"worker-{round_}" for key in keys}) == len(keys)
    ledger.close()


def hold_write_lock(path: str, held: Any, seconds: float) -> None:
    """Hold SQLite's write lock (as any writer does) for `seconds`, then commit a change."""
    import sqlite3
    import time

    conn = sqlite3.connect(path, isolation_level=None, timeout=60)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE encord_files SET attempts = attempts + 1 WHERE key = 'held.jpg'")
    held.set()
    time.sleep(seconds)
    conn.execute("COMMIT")
    conn.close()
