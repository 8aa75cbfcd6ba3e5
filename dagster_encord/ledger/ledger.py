"""The ledger: every file of every pipeline, its state, and the chunks and jobs that carry it.

```python
ledger = Ledger("postgresql://…", pipeline="cams")       # or Ledger.for_dagster_home("cams")
diff = ledger.ingest(source.list_pages(), "s3://bucket/cams")     # DiffSummary
outcome = ledger.plan(PlannerConfig(), metadata_for=…)             # PlanOutcome
for planned in ledger.chunks_in_state("planned"):
    chunk = ledger.mark_submitting(planned.chunk_id)    # write-ahead, returns the manifest
    job_id = post(chunk.manifest_payload())
    ledger.mark_submitted(chunk.chunk_id, job_id)
ledger.record_job_result(chunk_id, registered={url: item_uuid}, failed={url: ("transient", msg)})
ledger.requeue()                                         # due failures back to `discovered`
ledger.counts().reconciles                               # listed = registered + pending + …
```

States follow DESIGN §2 (`tables.FILE_STATES`). Rules:

- `ingest` stages a listing in a temporary table in batches, then diffs it in SQL: new keys are
  inserted as `discovered`; a changed version or size puts a file back to `discovered` (attempts
  reset); with `complete=True` keys missing from the listing become `deleted`. Diffing is by key
  and version, never by timestamps, so objects sharing a last-modified time are never lost. A
  not-yet-submitted chunk holding a changed or deleted file is `superseded` and its files return
  to `discovered`, so no stale manifest is ever submitted.
- `plan` runs the planner over `discovered` and `skipped` files in key order and persists chunks.
  Files in held groups (quiet period) stay `discovered`.
- Write-ahead: `mark_submitting` before the POST, `mark_submitted` after. A chunk found in
  `submitting` after a crash is resubmitted as is (`skip_duplicate_urls: true` prevents duplicates).
- `record_job_result`: registered URLs get their item uuid; failed ones become `failed` with an
  attempt count and a backoff, or `quarantined` when the class is permanent or attempts run out;
  files of the chunk missing from a complete result count as failed (`missing_from_result`).
  A result for one member of a multi-file item applies to the whole item.
- Concurrency: `ingest`, `plan` and every transition run in one transaction that first updates
  the pipeline's row in `encord_locks`, so two processes never plan the same file twice.
- A file that changes while its chunk is already submitted goes back to `discovered` at once;
  the running job's result no longer applies to it (only files still `submitted` in that chunk
  are updated). Re-registering a changed object under the same URL is subject to Encord's
  `skip_duplicate_urls`; the pipeline decides how to refresh such items.
- `preview` runs `ingest` and `plan` in one transaction and rolls it back (the dry-run CLI).
- Reading: `chunk`, `chunks_in_state`, `chunk_object_urls`, `counts`, `file`, `files_in_state`,
  `iter_files` (paged), `retryable`; `set_metadata_hashes` (by key) and
  `record_metadata_outcome` (by object URL, with errors) record what a metadata upsert did.

Modules: `listing.py` (staging and diff), `planning.py` (plan persistence), `results.py` (retry
policy), `tables.py`, `engine.py` (SQLite/PostgreSQL engines), `models.py` (returned values).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    true,
    update,
)

from dagster_encord.errors import LedgerError
from dagster_encord.ledger import engine as engines
from dagster_encord.ledger.listing import diff_listing, epoch, insert_ignore, stage_listing
from dagster_encord.ledger.models import (
    DiffSummary,
    FileRow,
    JobOutcome,
    LedgerCounts,
    PlannedChunk,
    PlanOutcome,
    StoredChunk,
)
from dagster_encord.ledger.planning import PlanWriter, pending_records
from dagster_encord.ledger.results import PERMANENT_ERROR_CLASSES, Member, result_updates
from dagster_encord.ledger.tables import chunks, files, jobs, listing_scratch, locks, metadata
from dagster_encord.planner.chunking import Chunk
from dagster_encord.planner.config import PlannerConfig
from dagster_encord.planner.plan import GroupMetadataFor, ManifestPlanner, MetadataFor
from dagster_encord.sources.base import ObjectRecord


class Ledger:
    """One pipeline's view of a shared ledger database (rows are scoped by `pipeline`)."""

    def __init__(
        self,
        url: str,
        *,
        pipeline: str = "default",
        max_attempts: int = 5,
        batch_size: int = 10_000,
        create_tables: bool = True,
    ) -> None:
        self.url = engines.normalise_url(url)
        self.pipeline = pipeline
        self.max_attempts = max_attempts
        self.batch_size = batch_size
        self.engine: Engine = engines.make_engine(self.url)
        self._holder = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        engines.check_reachable(self.engine, self.url)
        if create_tables:
            self._create_tables()

    @classmethod
    def for_dagster_home(
        cls, pipeline: str = "default", dagster_home: str | None = None, **kwargs: Any
    ) -> Ledger:
        """The default ledger: an SQLite file `encord_ledger.sqlite` under DAGSTER_HOME."""
        return cls(engines.dagster_home_url(dagster_home), pipeline=pipeline, **kwargs)

    def __repr__(self) -> str:
        return f"Ledger({engines.describe(self.url)!r}, pipeline={self.pipeline!r})"

    def close(self) -> None:
        self.engine.dispose()

    # --- plumbing ---------------------------------------------------------------------------

    def _create_tables(self) -> None:
        with self._write() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(74102311)")
            metadata.create_all(conn, checkfirst=True)

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction (BEGIN IMMEDIATE on SQLite)."""
        with self.engine.connect() as conn:
            conn.execution_options(ledger_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def _lock(self, conn: Connection) -> None:
        """Serialise writers of this pipeline until the transaction ends."""
        now = time.time()
        taken = conn.execute(
            update(locks)
            .where(locks.c.pipeline == self.pipeline)
            .values(holder=self._holder, acquired_at=now)
        ).rowcount
        if not taken:
            conn.execute(
                insert_ignore(locks, conn),
                [{"pipeline": self.pipeline, "holder": self._holder, "acquired_at": now}],
            )
            conn.execute(
                update(locks)
                .where(locks.c.pipeline == self.pipeline)
                .values(holder=self._holder, acquired_at=now)
            )

    def _in_pipeline(self) -> Any:
        return files.c.pipeline == self.pipeline

    # --- ingest and diff --------------------------------------------------------------------

    def ingest(
        self,
        pages: Iterable[Sequence[ObjectRecord]],
        source_url: str = "",
        *,
        complete: bool = True,
        listing_id: str | None = None,
    ) -> DiffSummary:
        """Record a listing and diff it against the ledger.

        `complete=False` (an incremental listing, e.g. `modified_since`) detects new and changed
        files but never deletions. `source_url` scopes deletions when several sources feed one
        pipeline.
        """
        listing_id = listing_id or uuid.uuid4().hex
        with self._staged(pages) as (conn, listed), conn.begin():
            self._lock(conn)
            return diff_listing(conn, self.pipeline, source_url, listed, listing_id, complete)

    @contextmanager
    def _staged(self, pages: Iterable[Sequence[ObjectRecord]]) -> Iterator[tuple[Connection, int]]:
        """A connection with `pages` staged in its scratch table, set for writes.

        Yields the connection and the distinct key count. Afterwards (also on error) an open
        transaction is rolled back and the scratch table is emptied in a transaction of its own.
        """
        with self.engine.connect() as conn:
            try:
                listed = stage_listing(conn, pages, self.batch_size)
                conn.execution_options(ledger_write=True)
                yield conn, listed
            finally:
                if conn.in_transaction():
                    conn.rollback()
                conn.execution_options(ledger_write=False)
                with conn.begin():
                    conn.execute(delete(listing_scratch))

    # --- planning ---------------------------------------------------------------------------

    def plan(
        self,
        config: PlannerConfig | None = None,
        *,
        metadata_for: MetadataFor | None = None,
        media_metadata_for: MetadataFor | None = None,
        group_metadata_for: GroupMetadataFor | None = None,
        now: datetime | None = None,
        on_chunk: Callable[[PlannedChunk, Chunk], None] | None = None,
    ) -> PlanOutcome:
        """Plan every `discovered` (and re-check every `skipped`) file into persisted chunks.

        `on_chunk(planned, chunk)` sees each persisted chunk with the planner's `Chunk` (its
        items and manifest), e.g. to write manifests to a folder without holding them all.
        `planned.chunk_id` is the id to use: it gets a `-rN` suffix when the same files were
        chunked before (a retry), so run keys never repeat.
        """
        planner = ManifestPlanner(
            config,
            namespace=self.pipeline,
            metadata_for=metadata_for,
            media_metadata_for=media_metadata_for,
            group_metadata_for=group_metadata_for,
            now=now,
        )
        with self._write() as conn:
            self._lock(conn)
            return self._plan_in(conn, planner, on_chunk)

    def preview(
        self,
        pages: Iterable[Sequence[ObjectRecord]],
        source_url: str = "",
        config: PlannerConfig | None = None,
        *,
        complete: bool = True,
        metadata_for: MetadataFor | None = None,
        media_metadata_for: MetadataFor | None = None,
        group_metadata_for: GroupMetadataFor | None = None,
        now: datetime | None = None,
        on_chunk: Callable[[PlannedChunk, Chunk], None] | None = None,
    ) -> tuple[DiffSummary, PlanOutcome]:
        """`ingest` then `plan` in one transaction that is rolled back: a dry run.

        The diff and the chunks (with the ids a real run would give them now) are reported and
        nothing is stored. On SQLite the write lock is held while it runs.
        """
        planner = ManifestPlanner(
            config,
            namespace=self.pipeline,
            metadata_for=metadata_for,
            media_metadata_for=media_metadata_for,
            group_metadata_for=group_metadata_for,
            now=now,
        )
        with self._staged(pages) as (conn, listed):
            transaction = conn.begin()
            try:
                diff = diff_listing(
                    conn, self.pipeline, source_url, listed, uuid.uuid4().hex, complete
                )
                outcome = self._plan_in(conn, planner, on_chunk)
            finally:
                transaction.rollback()
        return diff, outcome

    def _plan_in(
        self,
        conn: Connection,
        planner: ManifestPlanner,
        on_chunk: Callable[[PlannedChunk, Chunk], None] | None,
    ) -> PlanOutcome:
        outcome = PlanOutcome(chunks=[], skipped=[], held=[], warnings=[])
        writer = PlanWriter(conn, self.pipeline, self.batch_size)
        records = pending_records(conn, self.pipeline, self.batch_size)
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

    # --- chunks -----------------------------------------------------------------------------

    _SUMMARY_COLUMNS = (
        chunks.c.chunk_id,
        chunks.c.lane,
        chunks.c.state,
        chunks.c.format,
        chunks.c.file_count,
        chunks.c.item_count,
        chunks.c.bytes,
        chunks.c.upload_job_id,
        chunks.c.submit_attempts,
    )

    def _stored(self, conn: Connection, chunk_id: str) -> StoredChunk:
        row = conn.execute(
            select(*self._SUMMARY_COLUMNS, chunks.c.manifest).where(
                chunks.c.chunk_id == chunk_id, chunks.c.pipeline == self.pipeline
            )
        ).one_or_none()
        if row is None:
            raise LedgerError(
                f"chunk {chunk_id!r} is not in the ledger for pipeline {self.pipeline!r}; "
                "list chunks with chunks_in_state()"
            )
        return StoredChunk(**row._mapping)

    def chunk(self, chunk_id: str) -> StoredChunk:
        with self._read() as conn:
            return self._stored(conn, chunk_id)

    def chunks_in_state(self, *states: str) -> list[PlannedChunk]:
        """Chunks of this pipeline in any of `states` (all chunks when none given)."""
        query = select(*self._SUMMARY_COLUMNS).where(chunks.c.pipeline == self.pipeline)
        if states:
            query = query.where(chunks.c.state.in_(states))
        with self._read() as conn:
            return [PlannedChunk(*row) for row in conn.execute(query.order_by(chunks.c.chunk_id))]

    def chunk_object_urls(self, chunk_id: str) -> list[str]:
        with self._read() as conn:
            return list(
                conn.execute(
                    select(files.c.object_url)
                    .where(self._in_pipeline(), files.c.chunk_id == chunk_id)
                    .order_by(files.c.key)
                ).scalars()
            )

    def mark_submitting(self, chunk_id: str) -> StoredChunk:
        """Write-ahead before the job POST. Allowed from `planned`, and again from `submitting`
        (a crash between POST and `mark_submitted` is healed by resubmitting)."""
        now = time.time()
        with self._write() as conn:
            self._lock(conn)
            chunk = self._stored(conn, chunk_id)
            if chunk.state not in ("planned", "submitting"):
                raise LedgerError(
                    f"chunk {chunk_id!r} is {chunk.state}; only planned or submitting chunks can "
                    "be submitted (a superseded chunk's files are re-planned in a new chunk)"
                )
            conn.execute(
                update(chunks)
                .where(chunks.c.chunk_id == chunk_id)
                .values(
                    state="submitting",
                    submit_attempts=chunks.c.submit_attempts + 1,
                    updated_at=now,
                )
            )
            conn.execute(
                update(files)
                .where(
                    self._in_pipeline(),
                    files.c.chunk_id == chunk_id,
                    files.c.state.in_(("planned", "submitting")),
                )
                .values(state="submitting", updated_at=now)
            )
            return self._stored(conn, chunk_id)

    def mark_submitted(self, chunk_id: str, upload_job_id: str) -> None:
        now = time.time()
        with self._write() as conn:
            self._lock(conn)
            chunk = self._stored(conn, chunk_id)
            if chunk.state != "submitting":
                raise LedgerError(
                    f"chunk {chunk_id!r} is {chunk.state}, not submitting; call "
                    "mark_submitting() before POSTing its upload job"
                )
            conn.execute(
                update(chunks)
                .where(chunks.c.chunk_id == chunk_id)
                .values(state="submitted", upload_job_id=upload_job_id, updated_at=now)
            )
            conn.execute(
                update(files)
                .where(
                    self._in_pipeline(),
                    files.c.chunk_id == chunk_id,
                    files.c.state == "submitting",
                )
                .values(state="submitted", updated_at=now)
            )
            conn.execute(
                insert_ignore(jobs, conn),
                [
                    {
                        "upload_job_id": upload_job_id,
                        "chunk_id": chunk_id,
                        "pipeline": self.pipeline,
                        "state": "running",
                        "registered_count": 0,
                        "failed_count": 0,
                        "submitted_at": now,
                    }
                ],
            )

    # --- job results, retries, quarantine ---------------------------------------------------

    def record_job_result(
        self,
        chunk_id: str,
        *,
        registered: Mapping[str, str] | None = None,
        failed: Mapping[str, tuple[str, str]] | None = None,
        complete: bool = True,
        permanent: Collection[str] = PERMANENT_ERROR_CLASSES,
        now: datetime | None = None,
    ) -> JobOutcome:
        """Apply an upload job's per-URL outcome to the chunk's files.

        `registered`: object_url -> item uuid; `failed`: object_url -> (error class, message).
        With `complete=True` (the job finished) files the result does not mention fail with
        class `missing_from_result`. Only files still submitted in this chunk change.
        """
        moment = epoch(now) if now is not None else time.time()
        with self._write() as conn:
            self._lock(conn)
            chunk = self._stored(conn, chunk_id)
            members = [
                Member(*row)
                for row in conn.execute(
                    select(
                        files.c.key, files.c.object_url, files.c.item_key, files.c.attempts
                    ).where(
                        self._in_pipeline(),
                        files.c.chunk_id == chunk_id,
                        files.c.state.in_(("submitting", "submitted")),
                    )
                )
            ]
            updates = result_updates(
                members,
                registered or {},
                failed or {},
                complete=complete,
                permanent=permanent,
                max_attempts=self.max_attempts,
                now=moment,
            )
            where = and_(self._in_pipeline(), files.c.key == bindparam("b_key"))
            if updates.registered:
                conn.execute(
                    update(files)
                    .where(where)
                    .values(
                        state="registered",
                        item_uuid=bindparam("b_uuid"),
                        error_class=None,
                        error_message=None,
                        next_attempt_at=None,
                        updated_at=moment,
                    ),
                    updates.registered,
                )
            if updates.errors:
                conn.execute(
                    update(files)
                    .where(where)
                    .values(
                        state=bindparam("b_state"),
                        attempts=bindparam("b_attempts"),
                        error_class=bindparam("b_class"),
                        error_message=bindparam("b_message"),
                        next_attempt_at=bindparam("b_next"),
                        updated_at=moment,
                    ),
                    updates.errors,
                )
            counts = updates.counts
            if complete:
                conn.execute(
                    update(chunks)
                    .where(chunks.c.chunk_id == chunk_id)
                    .values(state="completed", updated_at=moment)
                )
                if chunk.upload_job_id:
                    conn.execute(
                        update(jobs)
                        .where(jobs.c.upload_job_id == chunk.upload_job_id)
                        .values(
                            state="finished",
                            registered_count=counts["registered"],
                            failed_count=counts["failed"] + counts["quarantined"],
                            finished_at=moment,
                        )
                    )
        return JobOutcome(
            registered=counts["registered"],
            failed=counts["failed"],
            quarantined=counts["quarantined"],
            unaccounted=counts["unaccounted"],
            unknown_urls=updates.unknown_urls,
        )

    def retryable(self, now: datetime | None = None) -> list[FileRow]:
        """Failed files whose backoff has passed."""
        moment = epoch(now) if now is not None else time.time()
        with self._read() as conn:
            return self._file_rows(
                conn,
                and_(files.c.state == "failed", files.c.next_attempt_at <= moment),
            )

    def requeue(self, now: datetime | None = None) -> int:
        """Move due failures back to `discovered`; the next `plan` puts them in new chunks."""
        moment = epoch(now) if now is not None else time.time()
        with self._write() as conn:
            self._lock(conn)
            return int(
                conn.execute(
                    update(files)
                    .where(
                        self._in_pipeline(),
                        files.c.state == "failed",
                        files.c.next_attempt_at <= moment,
                    )
                    .values(state="discovered", chunk_id=None, updated_at=moment)
                ).rowcount
            )

    def quarantine(self, keys: Iterable[str], error_class: str, message: str) -> int:
        """Quarantine files by key (e.g. a human decided they can never register)."""
        now = time.time()
        batch = [{"b_key": key} for key in keys]
        if not batch:
            return 0
        with self._write() as conn:
            self._lock(conn)
            result = conn.execute(
                update(files)
                .where(self._in_pipeline(), files.c.key == bindparam("b_key"))
                .values(
                    state="quarantined",
                    error_class=error_class,
                    error_message=message,
                    next_attempt_at=None,
                    updated_at=now,
                ),
                batch,
            )
            return int(result.rowcount)

    # --- reading ----------------------------------------------------------------------------

    def counts(self) -> LedgerCounts:
        with self._read() as conn:
            rows = conn.execute(
                select(files.c.state, func.count())
                .where(self._in_pipeline())
                .group_by(files.c.state)
            ).all()
        return LedgerCounts({state: int(count) for state, count in rows})

    def files_in_state(self, *states: str) -> list[FileRow]:
        """All files in `states` (every file when none given); see iter_files for big sets."""
        with self._read() as conn:
            condition = files.c.state.in_(states) if states else true()
            return self._file_rows(conn, condition)

    def iter_files(self, *states: str, page_size: int = 10_000) -> Iterator[FileRow]:
        """Files in `states`, in key order, one page (one short transaction) at a time."""
        after: str | None = None
        while True:
            condition: Any = files.c.state.in_(states) if states else true()
            if after is not None:
                condition = and_(condition, files.c.key > after)
            with self._read() as conn:
                page = self._file_rows(conn, condition, limit=page_size)
            yield from page
            if len(page) < page_size:
                return
            after = page[-1].key

    def set_metadata_hashes(self, hashes: Mapping[str, str | None]) -> int:
        """Record the metadata now registered for these keys (after a metadata upsert)."""
        batch = [{"b_key": key, "b_hash": digest} for key, digest in hashes.items()]
        if not batch:
            return 0
        with self._write() as conn:
            self._lock(conn)
            return int(
                conn.execute(
                    update(files)
                    .where(self._in_pipeline(), files.c.key == bindparam("b_key"))
                    .values(metadata_hash=bindparam("b_hash"), updated_at=time.time()),
                    batch,
                ).rowcount
            )

    def record_metadata_outcome(
        self,
        verified: Mapping[str, str],
        failed: Mapping[str, str],
        *,
        states: Collection[str] = ("registered", "linked"),
        error_class: str = "metadata_upsert",
    ) -> tuple[int, int]:
        """Record a metadata upsert by object URL, in one write transaction; states unchanged.

        `verified` maps URL -> fingerprint of the metadata now stored (clears the file's error);
        `failed` maps URL -> message (kept to 2,000 characters) under `error_class`. Only files
        in `states` are touched. Returns the rows updated for each. No pipeline lock: the rows
        keep their state, so waiting behind a long `plan` would gain nothing.
        """
        if not verified and not failed:
            return 0, 0
        # `in_` expands its values, which executemany refuses.
        in_scope = and_(
            self._in_pipeline(),
            files.c.object_url == bindparam("b_url"),
            or_(*(files.c.state == state for state in states)),
        )
        written = errors = 0
        with self._write() as conn:
            if verified:
                written = conn.execute(
                    update(files)
                    .where(in_scope)
                    .values(
                        metadata_hash=bindparam("b_digest"), error_class=None, error_message=None
                    ),
                    [{"b_url": url, "b_digest": digest} for url, digest in verified.items()],
                ).rowcount
            if failed:
                errors = conn.execute(
                    update(files)
                    .where(in_scope)
                    .values(error_class=error_class, error_message=bindparam("b_message")),
                    [{"b_url": url, "b_message": text[:2000]} for url, text in failed.items()],
                ).rowcount
        return int(written), int(errors)

    def file(self, key: str) -> FileRow | None:
        with self._read() as conn:
            found = self._file_rows(conn, files.c.key == key)
        return found[0] if found else None

    def _file_rows(
        self, conn: Connection, condition: Any, limit: int | None = None
    ) -> list[FileRow]:
        rows = conn.execute(
            select(
                files.c.key,
                files.c.object_url,
                files.c.size,
                files.c.version,
                files.c.state,
                files.c.chunk_id,
                files.c.item_key,
                files.c.item_uuid,
                files.c.metadata_hash,
                files.c.attempts,
                files.c.error_class,
                files.c.error_message,
                files.c.next_attempt_at,
            )
            .where(self._in_pipeline(), condition)
            .order_by(files.c.key)
            .limit(limit)
        ).all()
        return [FileRow(**row._mapping) for row in rows]
