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
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from dagster_encord.errors import LedgerError
from dagster_encord.ledger import engine as engines
from dagster_encord.ledger.models import (
    DiffSummary,
    FileRow,
    JobOutcome,
    LedgerCounts,
    PlannedChunk,
    PlanOutcome,
    StoredChunk,
)
from dagster_encord.ledger.tables import (
    assignment_scratch,
    chunks,
    files,
    jobs,
    listing_scratch,
    locks,
    metadata,
)
from dagster_encord.planner.chunking import Chunk
from dagster_encord.planner.config import PlannerConfig
from dagster_encord.planner.manifest import ManifestItem
from dagster_encord.planner.plan import GroupMetadataFor, ManifestPlanner, MetadataFor
from dagster_encord.sources.base import ObjectRecord

PERMANENT_ERROR_CLASSES: frozenset[str] = frozenset(
    {"permanent", "unsupported_format", "missing_object", "access_denied"}
)
RETRY_BASE_SECONDS = 60.0
RETRY_MAX_SECONDS = 3600.0
_PENDING_FOR_PLAN = ("discovered", "skipped")
_UNSUBMITTED = ("planned",)


def _epoch(moment: datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def metadata_hash(item: ManifestItem) -> str | None:
    """A digest of the metadata an item was registered with, to detect later changes."""
    if item.client_metadata is None and item.media_metadata is None:
        return None
    payload = json.dumps(
        [item.client_metadata, item.media_metadata], sort_keys=True, default=str
    ).encode("utf-8")
    return hashlib.sha256(payload).hexdigest()[:32]


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
                self._insert_ignore(locks, conn),
                [{"pipeline": self.pipeline, "holder": self._holder, "acquired_at": now}],
            )
            conn.execute(
                update(locks)
                .where(locks.c.pipeline == self.pipeline)
                .values(holder=self._holder, acquired_at=now)
            )

    @staticmethod
    def _insert_ignore(table: Any, conn: Connection) -> Any:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        return dialect.insert(table).on_conflict_do_nothing()

    @staticmethod
    def _scratch(conn: Connection, table: Any) -> None:
        table.create(conn, checkfirst=True)
        conn.execute(delete(table))

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
        with self.engine.connect() as conn:
            try:
                listed = self._stage_listing(conn, pages)
                conn.execution_options(ledger_write=True)
                with conn.begin():
                    self._lock(conn)
                    diff = self._diff(conn, source_url, listed, listing_id, complete)
            finally:
                if conn.in_transaction():
                    conn.rollback()
                conn.execution_options(ledger_write=False)
                with conn.begin():
                    conn.execute(delete(listing_scratch))
        return diff

    def _stage_listing(self, conn: Connection, pages: Iterable[Sequence[ObjectRecord]]) -> int:
        with conn.begin():
            self._scratch(conn, listing_scratch)
        statement = self._insert_ignore(listing_scratch, conn)
        batch: list[dict[str, Any]] = []
        for page in pages:
            for record in page:
                batch.append(
                    {
                        "key": record.key,
                        "object_url": record.object_url,
                        "size": record.size,
                        "version": record.version,
                        "last_modified": _epoch(record.last_modified),
                        "content_type": record.content_type,
                    }
                )
            if len(batch) >= self.batch_size:
                with conn.begin():
                    conn.execute(statement, batch)
                batch = []
        if batch:
            with conn.begin():
                conn.execute(statement, batch)
        with conn.begin():
            return int(conn.execute(select(func.count()).select_from(listing_scratch)).scalar_one())

    def _diff(
        self, conn: Connection, source_url: str, listed: int, listing_id: str, complete: bool
    ) -> DiffSummary:
        now = time.time()
        s = listing_scratch
        same_key = and_(self._in_pipeline(), files.c.key == s.c.key)
        listing_values = {
            "object_url": s.c.object_url,
            "size": s.c.size,
            "version": s.c.version,
            "last_modified": s.c.last_modified,
            "content_type": s.c.content_type,
            "source_url": source_url,
        }
        reset = {
            "state": "discovered",
            "chunk_id": None,
            "item_uuid": None,
            "attempts": 0,
            "error_class": None,
            "error_message": None,
            "next_attempt_at": None,
            "updated_at": now,
        }
        changed = or_(
            files.c.version.is_distinct_from(s.c.version),
            files.c.size != s.c.size,
        )
        # Unsubmitted chunks holding a changed or gone file are superseded first.
        gone = and_(
            files.c.source_url == source_url,
            ~select(s.c.key).where(s.c.key == files.c.key).exists(),
        )
        is_changed = select(s.c.key).where(s.c.key == files.c.key, changed).exists()
        stale = select(files.c.chunk_id).where(
            self._in_pipeline(),
            files.c.state.in_(_UNSUBMITTED),
            or_(is_changed, gone) if complete else is_changed,
        )
        self._supersede(conn, [row[0] for row in conn.execute(stale.distinct())], now)

        reappeared = conn.execute(
            update(files)
            .where(same_key, files.c.state == "deleted")
            .values(**listing_values, **reset)
        ).rowcount
        changed_count = conn.execute(
            update(files).where(same_key, changed).values(**listing_values, **reset)
        ).rowcount
        new = conn.execute(
            insert(files).from_select(
                [
                    "pipeline",
                    "key",
                    "object_url",
                    "size",
                    "version",
                    "last_modified",
                    "content_type",
                    "source_url",
                    "state",
                    "attempts",
                    "first_seen_at",
                    "updated_at",
                ],
                select(
                    literal(self.pipeline),
                    s.c.key,
                    s.c.object_url,
                    s.c.size,
                    s.c.version,
                    s.c.last_modified,
                    s.c.content_type,
                    literal(source_url),
                    literal("discovered"),
                    literal(0),
                    literal(now),
                    literal(now),
                ).where(
                    ~select(files.c.key)
                    .where(files.c.pipeline == self.pipeline, files.c.key == s.c.key)
                    .exists()
                ),
            )
        ).rowcount
        deleted = 0
        if complete:
            deleted = conn.execute(
                update(files)
                .where(self._in_pipeline(), files.c.state != "deleted", gone)
                .values(state="deleted", chunk_id=None, updated_at=now)
            ).rowcount
        new_total = new + reappeared
        return DiffSummary(
            listing_id=listing_id,
            listed=listed,
            new=new_total,
            changed=changed_count,
            deleted=deleted,
            unchanged=listed - new_total - changed_count,
        )

    def _supersede(self, conn: Connection, chunk_ids: Sequence[str], now: float) -> None:
        for chunk_id in chunk_ids:
            if chunk_id is None:
                continue
            conn.execute(
                update(chunks)
                .where(chunks.c.chunk_id == chunk_id, chunks.c.state.in_(_UNSUBMITTED))
                .values(state="superseded", updated_at=now)
            )
            conn.execute(
                update(files)
                .where(files.c.chunk_id == chunk_id, files.c.state.in_(_UNSUBMITTED))
                .values(state="discovered", chunk_id=None, updated_at=now)
            )

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
        outcome = PlanOutcome(chunks=[], skipped=[], held=[], warnings=[])
        with self.engine.connect().execution_options(ledger_write=True) as conn, conn.begin():
            self._lock(conn)
            self._scratch(conn, assignment_scratch)
            assign = insert(assignment_scratch)
            pending: list[dict[str, Any]] = []
            for chunk in planner.iter_chunks(self._pending_records(conn), presorted=True):
                chunk_id = self._persist_chunk(conn, chunk)
                planned = PlannedChunk(
                    chunk_id=chunk_id,
                    lane=chunk.lane,
                    state="planned",
                    format=chunk.format,
                    file_count=chunk.url_count,
                    item_count=chunk.item_count,
                    bytes=chunk.bytes,
                    upload_job_id=None,
                    submit_attempts=0,
                )
                if on_chunk is not None:
                    on_chunk(planned, chunk)
                outcome.totals.add(chunk)
                outcome.chunks.append(planned)
                for item in chunk.items:
                    digest = metadata_hash(item)
                    for record in item.members:
                        pending.append(
                            {
                                "key": record.key,
                                "state": "planned",
                                "chunk_id": chunk_id,
                                "item_key": item.item_key,
                                "metadata_hash": digest,
                                "error_message": None,
                            }
                        )
                if len(pending) >= self.batch_size:
                    conn.execute(assign, pending)
                    pending = []
            for skipped in planner.skipped:
                pending.append(
                    {
                        "key": skipped.key,
                        "state": "skipped",
                        "chunk_id": None,
                        "item_key": None,
                        "metadata_hash": None,
                        "error_message": skipped.reason,
                    }
                )
            if pending:
                conn.execute(assign, pending)
            a = assignment_scratch
            conn.execute(
                update(files)
                .where(self._in_pipeline(), files.c.key == a.c.key)
                .values(
                    state=a.c.state,
                    chunk_id=a.c.chunk_id,
                    item_key=a.c.item_key,
                    metadata_hash=a.c.metadata_hash,
                    error_message=a.c.error_message,
                    updated_at=time.time(),
                )
            )
            conn.execute(delete(assignment_scratch))
        outcome.skipped = planner.skipped
        outcome.held = planner.held
        outcome.warnings = planner.warnings
        return outcome

    def _pending_records(self, conn: Connection) -> Iterator[ObjectRecord]:
        """Pending files in code-point key order (the planner's order on every backend)."""
        collation = "C" if conn.dialect.name == "postgresql" else "BINARY"
        ordered_key = files.c.key.collate(collation)
        after: str | None = None
        while True:
            query = (
                select(
                    files.c.key,
                    files.c.object_url,
                    files.c.size,
                    files.c.version,
                    files.c.last_modified,
                    files.c.content_type,
                )
                .where(self._in_pipeline(), files.c.state.in_(_PENDING_FOR_PLAN))
                .order_by(ordered_key)
                .limit(self.batch_size)
            )
            if after is not None:
                query = query.where(ordered_key > after)
            rows = conn.execute(query).all()
            if not rows:
                return
            for key, object_url, size, version, last_modified, content_type in rows:
                yield ObjectRecord(
                    key,
                    object_url,
                    size,
                    version,
                    datetime.fromtimestamp(last_modified, UTC),
                    content_type,
                )
            after = rows[-1][0]

    def _persist_chunk(self, conn: Connection, chunk: Chunk) -> str:
        """Insert the chunk; a content id already used (a retry of the same files) gets -rN."""
        now = time.time()
        chunk_id = chunk.chunk_id
        taken = set(
            conn.execute(
                select(chunks.c.chunk_id).where(
                    or_(
                        chunks.c.chunk_id == chunk_id,
                        and_(
                            chunks.c.chunk_id > f"{chunk_id}-r", chunks.c.chunk_id < f"{chunk_id}-s"
                        ),
                    )
                )
            ).scalars()
        )
        attempt = 1
        while chunk_id in taken:
            attempt += 1
            chunk_id = f"{chunk.chunk_id}-r{attempt}"
        conn.execute(
            insert(chunks).values(
                chunk_id=chunk_id,
                pipeline=self.pipeline,
                lane=chunk.lane,
                state="planned",
                format=chunk.format,
                manifest=chunk.manifest_text(),
                file_count=chunk.url_count,
                item_count=chunk.item_count,
                bytes=chunk.bytes,
                submit_attempts=0,
                created_at=now,
                updated_at=now,
            )
        )
        return chunk_id

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
                self._insert_ignore(jobs, conn),
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
        registered = dict(registered or {})
        failed = dict(failed or {})
        moment = _epoch(now) if now is not None else time.time()
        with self._write() as conn:
            self._lock(conn)
            chunk = self._stored(conn, chunk_id)
            members = conn.execute(
                select(files.c.key, files.c.object_url, files.c.item_key, files.c.attempts).where(
                    self._in_pipeline(),
                    files.c.chunk_id == chunk_id,
                    files.c.state.in_(("submitting", "submitted")),
                )
            ).all()
            by_url = {row.object_url: row for row in members}
            unknown = tuple(url for url in [*registered, *failed] if url not in by_url)
            item_uuid: dict[str, str] = {}
            item_error: dict[str, tuple[str, str]] = {}
            for url, uuid_ in registered.items():
                if url in by_url:
                    item_uuid.setdefault(by_url[url].item_key, uuid_)
            for url, failure in failed.items():
                if url in by_url:
                    item_error.setdefault(by_url[url].item_key, failure)
            done: list[dict[str, Any]] = []
            errors: list[dict[str, Any]] = []
            counts = {"registered": 0, "failed": 0, "quarantined": 0, "unaccounted": 0}
            for row in members:
                if row.object_url in registered or (
                    row.object_url not in failed and row.item_key in item_uuid
                ):
                    uuid_ = registered.get(row.object_url) or item_uuid[row.item_key]
                    done.append({"b_key": row.key, "b_uuid": uuid_})
                    counts["registered"] += 1
                    continue
                error: tuple[str, str] | None = failed.get(row.object_url) or item_error.get(
                    row.item_key
                )
                if error is None:
                    if not complete:
                        continue
                    error = ("missing_from_result", "the finished upload job did not report it")
                    counts["unaccounted"] += 1
                error_class, message = error
                attempts = row.attempts + 1
                quarantine = error_class in permanent or attempts >= self.max_attempts
                backoff = min(RETRY_BASE_SECONDS * 2 ** (attempts - 1), RETRY_MAX_SECONDS)
                errors.append(
                    {
                        "b_key": row.key,
                        "b_state": "quarantined" if quarantine else "failed",
                        "b_attempts": attempts,
                        "b_class": error_class,
                        "b_message": message[:4000],
                        "b_next": None if quarantine else moment + backoff,
                    }
                )
                counts["quarantined" if quarantine else "failed"] += 1
            where = and_(self._in_pipeline(), files.c.key == bindparam("b_key"))
            if done:
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
                    done,
                )
            if errors:
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
                    errors,
                )
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
            unknown_urls=unknown,
        )

    def retryable(self, now: datetime | None = None) -> list[FileRow]:
        """Failed files whose backoff has passed."""
        moment = _epoch(now) if now is not None else time.time()
        with self._read() as conn:
            return self._file_rows(
                conn,
                and_(files.c.state == "failed", files.c.next_attempt_at <= moment),
            )

    def requeue(self, now: datetime | None = None) -> int:
        """Move due failures back to `discovered`; the next `plan` puts them in new chunks."""
        moment = _epoch(now) if now is not None else time.time()
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
        with self._read() as conn:
            condition = files.c.state.in_(states) if states else true()
            return self._file_rows(conn, condition)

    def file(self, key: str) -> FileRow | None:
        with self._read() as conn:
            found = self._file_rows(conn, files.c.key == key)
        return found[0] if found else None

    def _file_rows(self, conn: Connection, condition: Any) -> list[FileRow]:
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
        ).all()
        return [FileRow(**row._mapping) for row in rows]
