"""`Ledger.record_metadata_outcome`: a metadata upsert's result written through the ledger's
write path, alone and while another process writes the same ledger."""

from __future__ import annotations

import multiprocessing
import time

from dagster_encord.ledger import ChunkState, FileState, Ledger

from .helpers import rec
from .workers import hold_write_lock, write_metadata_hashes


def registered(url: str, keys: list[str], pipeline: str = "shared") -> Ledger:
    """Files taken through the ledger's own transitions to `registered`."""
    ledger = Ledger(url, pipeline=pipeline)
    ledger.ingest([[rec(key) for key in keys]], "s3://bucket", complete=False)
    ledger.plan()
    for planned in ledger.chunks_in_state(ChunkState.PLANNED):
        ledger.mark_submitting(planned.chunk_id)
        ledger.mark_submitted(planned.chunk_id, f"job-{planned.chunk_id}")
        ledger.record_job_result(
            planned.chunk_id, registered={f"s3://bucket/{k}": f"uuid-{k}" for k in keys}
        )
    return ledger


def test_outcome_sets_hashes_and_errors_only_on_registered_files(ledger_url: str) -> None:
    ledger = registered(ledger_url, ["a.jpg", "b.jpg"], pipeline="p")
    ledger.ingest([[rec("pending.jpg")]], "s3://bucket", complete=False)
    written, errors = ledger.record_metadata_outcome(
        {"s3://bucket/a.jpg": "hash-a", "s3://bucket/pending.jpg": "hash-p"},
        {"s3://bucket/b.jpg": "bad value " + "x" * 3000},
        error_class="metadata_upsert",
    )
    assert (written, errors) == (1, 1)  # the pending file is not touched
    a, b, pending = (ledger.file(k) for k in ("a.jpg", "b.jpg", "pending.jpg"))
    assert a is not None and b is not None and pending is not None
    assert (a.metadata_hash, a.error_class, a.state) == ("hash-a", None, FileState.REGISTERED)
    assert b.error_class == "metadata_upsert" and b.state == FileState.REGISTERED
    assert b.error_message is not None and len(b.error_message) == 2000
    assert pending.metadata_hash != "hash-p" and pending.state == FileState.DISCOVERED
    # A later verified upsert clears the error.
    assert ledger.record_metadata_outcome({"s3://bucket/b.jpg": "hash-b"}, {}) == (1, 0)
    b = ledger.file("b.jpg")
    assert b is not None and (b.metadata_hash, b.error_class, b.error_message) == (
        "hash-b",
        None,
        None,
    )
    assert ledger.record_metadata_outcome({}, {}) == (0, 0)
    # Another pipeline's file under the same URL is never touched.
    other = registered(ledger_url, ["a.jpg"], pipeline="other")
    assert other.file("a.jpg").metadata_hash != "hash-a"  # type: ignore[union-attr]


def test_outcome_while_another_process_writes(ledger_url: str) -> None:
    mine = [f"m/{n:03d}.jpg" for n in range(50)]
    theirs = [f"t/{n:03d}.jpg" for n in range(50)]
    ledger = registered(ledger_url, mine + theirs)
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    worker = context.Process(target=write_metadata_hashes, args=(ledger_url, start, theirs, 40))
    worker.start()
    start.set()
    for round_ in range(40):
        verified = {f"s3://bucket/{k}": f"mine-{round_}" for k in mine[:40]}
        failed = {f"s3://bucket/{k}": f"error {round_}" for k in mine[40:]}
        assert ledger.record_metadata_outcome(verified, failed) == (40, 10)
    worker.join(120)
    assert worker.exitcode == 0
    rows = {row.key: row for row in ledger.files_in_state(FileState.REGISTERED)}
    assert {rows[k].metadata_hash for k in mine[:40]} == {"mine-39"}
    assert {rows[k].error_message for k in mine[40:]} == {"error 39"}
    assert {rows[k].metadata_hash for k in theirs} == {"worker-39"}


def test_outcome_waits_for_another_processes_sqlite_write_lock(sqlite_url: str) -> None:
    ledger = registered(sqlite_url, ["a.jpg", "held.jpg"])
    context = multiprocessing.get_context("spawn")
    held = context.Event()
    path = sqlite_url.split("///", 1)[1]
    holder = context.Process(target=hold_write_lock, args=(path, held, 1.5))
    holder.start()
    assert held.wait(60)
    started = time.monotonic()
    assert ledger.record_metadata_outcome({"s3://bucket/a.jpg": "after-wait"}, {}) == (1, 0)
    waited = time.monotonic() - started
    holder.join(60)
    assert holder.exitcode == 0
    assert waited >= 0.5  # it queued behind the other writer instead of failing
    assert ledger.file("a.jpg").metadata_hash == "after-wait"  # type: ignore[union-attr]
    assert ledger.file("held.jpg").attempts == 1  # type: ignore[union-attr]
