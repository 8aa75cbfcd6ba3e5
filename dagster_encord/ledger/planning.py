"""Persisting a plan: pending files out of the ledger in key order, chunks and assignments in.

`plan_pending` runs a `ManifestPlanner` over the pending files inside the caller's transaction.

Chunk rows and file assignments are buffered and written in batches (one executemany each); the
files table is updated once at the end from the assignment scratch table. A content-derived
chunk id already used by an earlier chunk (the same files retried) gets a `-rN` suffix, so chunk
ids, which are Dagster run keys, never repeat.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from dagster_encord.ledger.listing import can_copy, copy_rows, reset_scratch
from dagster_encord.ledger.models import PlannedChunk, PlanOutcome
from dagster_encord.ledger.states import PLANNABLE_FILE_STATES, ChunkState, FileState
from dagster_encord.ledger.tables import assignment_scratch, chunks, files
from dagster_encord.planner.chunking import Chunk
from dagster_encord.planner.classify import SkippedFile
from dagster_encord.planner.manifest import ManifestItem
from dagster_encord.planner.plan import ManifestPlanner
from dagster_encord.sources.base import ObjectRecord

_ASSIGN_COLUMNS = ("key", "state", "chunk_id", "item_key", "metadata_hash", "error_message")
_SQLITE_ASSIGN = (
    f"INSERT INTO encord_assignment_scratch ({', '.join(_ASSIGN_COLUMNS)}) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


def metadata_hash(item: ManifestItem) -> str:
    """A digest of the clientMetadata an item was registered with, to detect later changes.

    sha256 of the sorted, compact JSON (no metadata hashes as `{}`), first 32 hex digits: the
    same value as `metadata.upsert.metadata_fingerprint`, so upserts compare like with like.
    """
    canonical = json.dumps(
        dict(item.client_metadata or {}), sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def pending_records(conn: Connection, pipeline: str, page_size: int) -> Iterator[ObjectRecord]:
    """Pending files in code-point key order (the planner's order on every backend).

    Up to `page_size` of them (a tick's new objects) are read through the state index and
    sorted here: asked for them in key order, SQLite walks the primary key of every file of the
    pipeline (0.2 s at 1M files). More (a first listing) are read a page at a time in key order.
    """
    ordered_key = files.c.key  # code-point collation on both backends (tables.KeyString)
    pending = (files.c.pipeline == pipeline, files.c.state.in_(PLANNABLE_FILE_STATES))
    columns = (
        files.c.key,
        files.c.object_url,
        files.c.size,
        files.c.version,
        files.c.last_modified,
        files.c.content_type,
    )
    count = conn.execute(select(func.count()).select_from(files).where(*pending)).scalar_one()
    if count <= page_size:
        # Python compares str by code point, as the key's collation does.
        rows = conn.execute(select(*columns).where(*pending)).all()
        yield from _records(sorted(rows, key=lambda row: str(row[0])))
        return
    after: str | None = None
    while True:
        query = select(*columns).where(*pending).order_by(ordered_key).limit(page_size)
        if after is not None:
            query = query.where(ordered_key > after)
        rows = conn.execute(query).all()
        if not rows:
            return
        yield from _records(rows)
        after = rows[-1][0]


def _records(rows: Iterable[Sequence[Any]]) -> Iterator[ObjectRecord]:
    for key, object_url, size, version, last_modified, content_type in rows:
        yield ObjectRecord(
            key,
            object_url,
            size,
            version,
            datetime.fromtimestamp(last_modified, UTC),
            content_type,
        )


class PlanWriter:
    """Buffers chunk rows and file assignments of one plan transaction."""

    def __init__(self, conn: Connection, pipeline: str, batch_size: int) -> None:
        self.conn = conn
        self.pipeline = pipeline
        self.batch_size = batch_size
        self._chunk_rows: list[dict[str, Any]] = []
        # Tuples for the driver's executemany or COPY, so states go in as plain strings.
        self._assignments: list[tuple[Any, ...]] = []
        # Ids carry the pipeline in their hash, so this pipeline's ids are all that can collide.
        self._taken = set(
            conn.execute(select(chunks.c.chunk_id).where(chunks.c.pipeline == pipeline)).scalars()
        )
        reset_scratch(conn, assignment_scratch)

    def add_chunk(self, chunk: Chunk) -> PlannedChunk:
        now = time.time()
        chunk_id = self._free_id(chunk.chunk_id)
        self._chunk_rows.append(
            {
                "chunk_id": chunk_id,
                "pipeline": self.pipeline,
                "lane": chunk.lane,
                "state": ChunkState.PLANNED,
                "format": chunk.format,
                "manifest": chunk.manifest_text(),
                "file_count": chunk.url_count,
                "item_count": chunk.item_count,
                "bytes": chunk.bytes,
                "submit_attempts": 0,
                "created_at": now,
                "updated_at": now,
            }
        )
        for item in chunk.items:
            digest = metadata_hash(item)
            self._assignments += [
                (record.key, FileState.PLANNED.value, chunk_id, item.item_key, digest, None)
                for record in item.members
            ]
        if len(self._assignments) >= self.batch_size or len(self._chunk_rows) >= 200:
            self._flush()
        return PlannedChunk(
            chunk_id=chunk_id,
            lane=chunk.lane,
            state=ChunkState.PLANNED,
            format=chunk.format,
            file_count=chunk.url_count,
            item_count=chunk.item_count,
            bytes=chunk.bytes,
            upload_job_id=None,
            submit_attempts=0,
        )

    def add_skipped(self, skipped: SkippedFile) -> None:
        self._assignments.append(
            (skipped.key, FileState.SKIPPED.value, None, None, None, skipped.reason)
        )

    def finish(self) -> None:
        """Write what is buffered and apply every assignment to the files table."""
        self._flush()
        a = assignment_scratch
        self.conn.execute(
            update(files)
            # `key IN`: SQLite then looks the assigned keys up instead of walking every file.
            .where(
                files.c.pipeline == self.pipeline,
                files.c.key == a.c.key,
                files.c.key.in_(select(a.c.key)),
            )
            .values(
                state=a.c.state,
                chunk_id=a.c.chunk_id,
                item_key=a.c.item_key,
                metadata_hash=a.c.metadata_hash,
                error_message=a.c.error_message,
                updated_at=time.time(),
            )
        )
        self.conn.execute(delete(assignment_scratch))

    def _flush(self) -> None:
        if self._chunk_rows:
            self.conn.execute(insert(chunks), self._chunk_rows)
            self._chunk_rows = []
        if self._assignments:
            if self.conn.dialect.name == "sqlite":  # driver executemany: no per-row processing
                self.conn.exec_driver_sql(_SQLITE_ASSIGN, self._assignments)
            elif can_copy(self.conn, self._assignments):
                copy_rows(
                    self.conn, "encord_assignment_scratch", _ASSIGN_COLUMNS, self._assignments
                )
            else:
                rows = [dict(zip(_ASSIGN_COLUMNS, row, strict=True)) for row in self._assignments]
                self.conn.execute(insert(assignment_scratch), rows)
            self._assignments = []

    def _free_id(self, base: str) -> str:
        chunk_id, attempt = base, 1
        while chunk_id in self._taken:
            attempt += 1
            chunk_id = f"{base}-r{attempt}"
        self._taken.add(chunk_id)
        return chunk_id


def plan_pending(
    conn: Connection,
    pipeline: str,
    batch_size: int,
    planner: ManifestPlanner,
    on_chunk: Callable[[PlannedChunk, Chunk], None] | None,
) -> PlanOutcome:
    """Run `planner` over the pending files and persist its chunks and skips on `conn`."""
    outcome = PlanOutcome(chunks=[], skipped=[], held=[], warnings=[])
    writer = PlanWriter(conn, pipeline, batch_size)
    records = pending_records(conn, pipeline, batch_size)
    for chunk in planner.iter_chunks(records, presorted=True):
        planned = writer.add_chunk(chunk)
        if on_chunk is not None:
            on_chunk(planned, chunk)
        outcome.totals.add(chunk)
        outcome.chunks.append(planned)
    for skipped in planner.skipped:
        writer.add_skipped(skipped)
    writer.finish()
    outcome.skipped = planner.skipped
    outcome.held = planner.held
    outcome.warnings = planner.warnings
    return outcome
