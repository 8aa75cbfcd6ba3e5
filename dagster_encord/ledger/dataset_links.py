"""`DatasetLinks`: one pipeline's dataset links in the ledger (`ledger.dataset_links`).

Write-ahead, as for chunks: rows are marked `linking` before the link call and `linked` with
their data rows after it; `unlinking` before an unlink and dropped after it. A crash in between
leaves the mark, and the next sync heals it by listing the dataset's rows (`links(states=...)`
finds what to heal). Each write is one transaction that takes the pipeline's lock.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence

from sqlalchemy import Engine

from dagster_encord.ledger import link_transitions as sql
from dagster_encord.ledger import session
from dagster_encord.ledger.models import DatasetLink
from dagster_encord.ledger.states import LinkState


class DatasetLinks:
    """Reads and writes of the `encord_dataset_links` rows of one pipeline."""

    def __init__(self, engine: Engine, pipeline: str, holder: str) -> None:
        self.engine = engine
        self.pipeline = pipeline
        self._holder = holder

    def links(
        self, dataset_hash: str | None = None, states: Collection[LinkState] = ()
    ) -> list[DatasetLink]:
        """Links of the pipeline (to one dataset; in some states), by dataset then key."""
        with session.read(self.engine) as conn:
            return sql.links(conn, self.pipeline, dataset_hash, states)

    def count(self, dataset_hash: str, state: LinkState = LinkState.LINKED) -> int:
        """How many files have a link in `state` to the dataset."""
        with session.read(self.engine) as conn:
            return sql.count(conn, self.pipeline, dataset_hash, state)

    def mark_linking(self, dataset_hash: str, rows: Sequence[tuple[str, str]]) -> int:
        """Write-ahead before a link call: (key, item uuid) rows become `linking`."""
        marked = [(key, item_uuid, None) for key, item_uuid in rows]
        return self._upsert(dataset_hash, marked, LinkState.LINKING)

    def record_linked(self, dataset_hash: str, rows: Sequence[tuple[str, str, str]]) -> int:
        """(key, item uuid, data hash) rows are `linked` (after a link call, or found by a heal)."""
        return self._upsert(dataset_hash, rows, LinkState.LINKED)

    def mark_unlinking(self, dataset_hash: str, data_hashes: Collection[str]) -> int:
        """Write-ahead before an unlink: the rows of these data rows become `unlinking`."""
        return self._set_state(dataset_hash, data_hashes, LinkState.UNLINKING)

    def restore_linked(self, dataset_hash: str, data_hashes: Collection[str]) -> int:
        """A heal found these data rows still in the dataset: their rows are `linked` again."""
        return self._set_state(dataset_hash, data_hashes, LinkState.LINKED)

    def record_unlinked(self, dataset_hash: str, data_hashes: Collection[str]) -> int:
        """These data rows are gone from the dataset: their rows are dropped."""
        with session.write(self.engine) as conn:
            session.lock(conn, self.pipeline, self._holder)
            return sql.drop_data_rows(conn, self.pipeline, dataset_hash, data_hashes)

    def drop(self, dataset_hash: str, keys: Collection[str]) -> int:
        """Forget these keys' rows for one dataset (no Encord change behind it)."""
        with session.write(self.engine) as conn:
            session.lock(conn, self.pipeline, self._holder)
            return sql.drop_keys(conn, self.pipeline, dataset_hash, keys)

    def sync_file_states(self) -> tuple[int, int]:
        """Registered files with a linked row are `linked`, the others `registered`; returns
        (files now linked, files no longer linked)."""
        with session.write(self.engine) as conn:
            session.lock(conn, self.pipeline, self._holder)
            return sql.sync_file_states(conn, self.pipeline, time.time())

    def forget_items(self, keys: Collection[str]) -> int:
        """Deleted files whose storage item was deleted keep no item uuid."""
        with session.write(self.engine) as conn:
            session.lock(conn, self.pipeline, self._holder)
            return sql.forget_items(conn, self.pipeline, keys, time.time())

    def _upsert(
        self, dataset_hash: str, rows: Sequence[tuple[str, str, str | None]], state: LinkState
    ) -> int:
        if not rows:
            return 0
        with session.write(self.engine) as conn:
            session.lock(conn, self.pipeline, self._holder)
            return sql.upsert_links(conn, self.pipeline, dataset_hash, rows, state, time.time())

    def _set_state(self, dataset_hash: str, data_hashes: Collection[str], state: LinkState) -> int:
        if not data_hashes:
            return 0
        with session.write(self.engine) as conn:
            session.lock(conn, self.pipeline, self._holder)
            return sql.set_state(conn, self.pipeline, dataset_hash, data_hashes, state, time.time())
