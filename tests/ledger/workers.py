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
