"""The ledger: every file of every pipeline, its state, and the chunks and jobs that carry it.

```python
ledger = Ledger("postgresql://…", pipeline="cams")       # or Ledger.for_dagster_home("cams")
diff = ledger.ingest(source.list_pages(), "s3://bucket/cams")     # DiffSummary
outcome = ledger.plan(PlannerConfig(), metadata_for=…)             # PlanOutcome
for planned in ledger.chunks_in_state(ChunkState.PLANNED):
    chunk = ledger.mark_submitting(planned.chunk_id)    # write-ahead, returns the manifest
    job_id = post(chunk.manifest_payload())
    ledger.mark_submitted(chunk.chunk_id, job_id)
ledger.record_job_result(chunk_id, registered={url: item_uuid}, failed={url: ("transient", msg)})
ledger.requeue()                                         # due failures back to `discovered`
ledger.counts().reconciles                               # listed = registered + pending + …
```

States follow DESIGN §2 (`FileState`, `ChunkState` in `states.py`). Rules, by module:

- `ingest` stages a listing and diffs it in SQL by key, version and size (`listing.py`): new keys
  are `discovered`, changed ones go back to `discovered` (attempts reset) and, with
  `complete=True`, missing ones become `deleted`. A not-yet-submitted chunk holding a changed or
  deleted file is `superseded` and its files return to `discovered`.
- `plan` runs the planner over `discovered` and `skipped` files in key order and persists chunks
  (`planning.py`). Files in held groups (quiet period) stay `discovered`.
- Write-ahead (`transitions.py`): `mark_submitting` before the POST, `mark_submitted` after. A
  chunk found in `submitting` after a crash is resubmitted as is (`skip_duplicate_urls: true`).
- `record_job_result` applies the retry policy (`results.py`): uuids for registered URLs,
  `failed` with a backoff or `quarantined`, `missing_from_result` for files a complete result
  omits; a result for one member of a multi-file item applies to the whole item.
- `ingest`, `plan` and every transition run in one transaction that first takes the pipeline's
  row in `encord_locks` (`session.py`), so two processes never plan the same file twice.
- A file that changes while its chunk is submitted goes back to `discovered` at once; the job's
  result then no longer applies to it. Refreshing such items is the pipeline's decision.
- `preview` runs `ingest` and `plan` in one transaction and rolls it back (the dry-run CLI).
- Dataset links (`ledger.dataset_links`, `dataset_links.py`): write-ahead `linking` /
  `unlinking` marks around the link and unlink calls, and files `linked` while they have a link.
- Reading (`queries.py`): `chunk`, `chunks_in_state`, `chunk_object_urls`, `counts`, `file`,
  `files_in_state`, `iter_files` (paged), `retryable`. `set_metadata_hashes` (by key) and
  `record_metadata_outcome` (by URL, with errors) record a metadata upsert (`metadata_state.py`).

`Ledger` is a facade: it owns the engine, opens each transaction and takes the lock. Also:
`tables.py`, `engine.py` (SQLite/PostgreSQL engines), `models.py` (returned values).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from dagster_encord.ledger import engine as engines
from dagster_encord.ledger import events, metadata_state, queries, session, transitions
from dagster_encord.ledger.dataset_links import DatasetLinks
from dagster_encord.ledger.events import Deletion, EventDiff
from dagster_encord.ledger.export_states import ExportStates
from dagster_encord.ledger.listing import diff_listing, epoch
from dagster_encord.ledger.models import (
    DiffSummary,
    FileRow,
    JobOutcome,
    LedgerCounts,
    PlannedChunk,
    PlanOutcome,
    StoredChunk,
)
from dagster_encord.ledger.planning import plan_pending
from dagster_encord.ledger.results import PERMANENT_ERROR_CLASSES
from dagster_encord.ledger.states import IN_ENCORD_FILE_STATES, ChunkState, FileState
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
            session.create_tables(self.engine)

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

    @property
    def dataset_links(self) -> DatasetLinks:
        """This pipeline's dataset links (see `dataset_links.py`)."""
        return DatasetLinks(self.engine, self.pipeline, self._holder)

    @property
    def export_states(self) -> ExportStates:
        """This pipeline's label-export watermarks (see `export_states.py`)."""
        return ExportStates(self.engine, self.pipeline)

    def _planner(
        self,
        config: PlannerConfig | None,
        metadata_for: MetadataFor | None,
        media_metadata_for: MetadataFor | None,
        group_metadata_for: GroupMetadataFor | None,
        now: datetime | None,
    ) -> ManifestPlanner:
        return ManifestPlanner(
            config,
            namespace=self.pipeline,
            metadata_for=metadata_for,
            media_metadata_for=media_metadata_for,
            group_metadata_for=group_metadata_for,
            now=now,
        )

    # --- ingest and planning ----------------------------------------------------------------

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
        with session.staged(self.engine, pages, self.batch_size) as (conn, listed), conn.begin():
            session.lock(conn, self.pipeline, self._holder)
            return diff_listing(conn, self.pipeline, source_url, listed, listing_id, complete)

    def apply_events(
        self,
        created: Sequence[ObjectRecord],
        deleted: Sequence[Deletion],
        source_url: str = "",
    ) -> EventDiff:
        """Record a batch of bucket events in one transaction (see `events.py`): created
        objects as a partial listing, deletions by event time (and version)."""
        listing_id = uuid.uuid4().hex
        with (
            session.staged(self.engine, [created], self.batch_size) as (conn, listed),
            conn.begin(),
        ):
            session.lock(conn, self.pipeline, self._holder)
            return events.apply_events(conn, self.pipeline, source_url, listed, listing_id, deleted)

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
        planner = self._planner(config, metadata_for, media_metadata_for, group_metadata_for, now)
        with session.write(self.engine) as conn:
            session.lock(conn, self.pipeline, self._holder)
            return plan_pending(conn, self.pipeline, self.batch_size, planner, on_chunk)

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
        planner = self._planner(config, metadata_for, media_metadata_for, group_metadata_for, now)
        with session.staged(self.engine, pages, self.batch_size) as (conn, listed):
            transaction = conn.begin()
            try:
                diff = diff_listing(
                    conn, self.pipeline, source_url, listed, uuid.uuid4().hex, complete
                )
                outcome = plan_pending(conn, self.pipeline, self.batch_size, planner, on_chunk)
            finally:
                transaction.rollback()
        return diff, outcome

    # --- chunks -----------------------------------------------------------------------------

    def chunk(self, chunk_id: str) -> StoredChunk:
        with session.read(self.engine) as conn:
            return queries.stored_chunk(conn, self.pipeline, chunk_id)

    def chunks_in_state(self, *states: ChunkState) -> list[PlannedChunk]:
        """Chunks of this pipeline in any of `states` (all chunks when none given)."""
        with session.read(self.engine) as conn:
            return queries.chunks_in_state(conn, self.pipeline, states)

    def chunk_object_urls(self, chunk_id: str) -> list[str]:
        with session.read(self.engine) as conn:
            return queries.chunk_object_urls(conn, self.pipeline, chunk_id)

    def mark_submitting(self, chunk_id: str) -> StoredChunk:
        """Write-ahead before the job POST. Allowed from `planned`, and again from `submitting`
        (a crash between POST and `mark_submitted` is healed by resubmitting)."""
        now = time.time()
        with session.write(self.engine) as conn:
            session.lock(conn, self.pipeline, self._holder)
            return transitions.mark_submitting(conn, self.pipeline, chunk_id, now)

    def mark_submitted(self, chunk_id: str, upload_job_id: str) -> None:
        now = time.time()
        with session.write(self.engine) as conn:
            session.lock(conn, self.pipeline, self._holder)
            transitions.mark_submitted(conn, self.pipeline, chunk_id, upload_job_id, now)

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
        with session.write(self.engine) as conn:
            session.lock(conn, self.pipeline, self._holder)
            return transitions.record_job_result(
                conn,
                self.pipeline,
                chunk_id,
                registered=registered or {},
                failed=failed or {},
                complete=complete,
                permanent=permanent,
                max_attempts=self.max_attempts,
                now=moment,
            )

    def retryable(self, now: datetime | None = None) -> list[FileRow]:
        """Failed files whose backoff has passed."""
        moment = epoch(now) if now is not None else time.time()
        with session.read(self.engine) as conn:
            return queries.file_rows(conn, self.pipeline, queries.due_failures(moment))

    def requeue(self, now: datetime | None = None) -> int:
        """Move due failures back to `discovered`; the next `plan` puts them in new chunks."""
        moment = epoch(now) if now is not None else time.time()
        with session.write(self.engine) as conn:
            session.lock(conn, self.pipeline, self._holder)
            return transitions.requeue(conn, self.pipeline, moment)

    def quarantine(self, keys: Iterable[str], error_class: str, message: str) -> int:
        """Quarantine files by key (e.g. a human decided they can never register)."""
        now = time.time()
        batch = list(keys)
        if not batch:
            return 0
        with session.write(self.engine) as conn:
            session.lock(conn, self.pipeline, self._holder)
            return transitions.quarantine(conn, self.pipeline, batch, error_class, message, now)

    # --- reading ----------------------------------------------------------------------------

    def counts(self) -> LedgerCounts:
        with session.read(self.engine) as conn:
            return queries.counts(conn, self.pipeline)

    def files_in_state(self, *states: FileState) -> list[FileRow]:
        """All files in `states` (every file when none given); see iter_files for big sets."""
        with session.read(self.engine) as conn:
            return queries.file_rows(conn, self.pipeline, queries.in_states(states))

    def iter_files(self, *states: FileState, page_size: int = 10_000) -> Iterator[FileRow]:
        """Files in `states`, in key order, one page (one short transaction) at a time."""
        return queries.iter_files(self.engine, self.pipeline, states, page_size)

    def set_metadata_hashes(self, hashes: Mapping[str, str | None]) -> int:
        """Record the metadata now registered for these keys (after a metadata upsert)."""
        if not hashes:
            return 0
        with session.write(self.engine) as conn:
            session.lock(conn, self.pipeline, self._holder)
            return metadata_state.set_metadata_hashes(conn, self.pipeline, hashes, time.time())

    def record_metadata_outcome(
        self,
        verified: Mapping[str, str],
        failed: Mapping[str, str],
        *,
        states: Collection[FileState] = IN_ENCORD_FILE_STATES,
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
        with session.write(self.engine) as conn:
            return metadata_state.record_metadata_outcome(
                conn, self.pipeline, verified, failed, states=states, error_class=error_class
            )

    def file(self, key: str) -> FileRow | None:
        with session.read(self.engine) as conn:
            return queries.file(conn, self.pipeline, key)
