"""Dataset-link writes and reads on a connection (the caller's transaction holds the lock).

A link row is (pipeline, key, dataset): the file's item, the data row it became and the link's
`LinkState`. `upsert_links` writes rows in a state (LINKING before the link call, LINKED after);
`set_state` moves rows by data row (UNLINKING before an unlink, back to LINKED when a heal finds
the row still there); `drop_*` forgets rows. `sync_file_states` makes `encord_files.state` say
`linked` exactly for registered files with a LINKED row; `forget_items` clears the item of
deleted files whose storage item was deleted.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from dagster_encord.ledger.models import DatasetLink
from dagster_encord.ledger.states import FileState, LinkState
from dagster_encord.ledger.tables import dataset_links, files

_L = dataset_links


def _scope(pipeline: str, dataset_hash: str | None) -> Any:
    if dataset_hash is None:
        return _L.c.pipeline == pipeline
    return and_(_L.c.pipeline == pipeline, _L.c.dataset_hash == dataset_hash)


def links(
    conn: Connection,
    pipeline: str,
    dataset_hash: str | None = None,
    states: Collection[LinkState] = (),
) -> list[DatasetLink]:
    """The pipeline's links (to one dataset, in some states), by dataset then key."""
    query = select(_L.c.key, _L.c.dataset_hash, _L.c.item_uuid, _L.c.data_hash, _L.c.state)
    query = query.where(_scope(pipeline, dataset_hash))
    if states:
        query = query.where(_L.c.state.in_(states))
    rows = conn.execute(query.order_by(_L.c.dataset_hash, _L.c.key))
    return [DatasetLink(*row) for row in rows]


def count(conn: Connection, pipeline: str, dataset_hash: str, state: LinkState) -> int:
    query = select(func.count()).select_from(_L)
    query = query.where(_scope(pipeline, dataset_hash), _L.c.state == state)
    return int(conn.execute(query).scalar_one())


def upsert_links(
    conn: Connection,
    pipeline: str,
    dataset_hash: str,
    rows: Sequence[tuple[str, str, str | None]],
    state: LinkState,
    now: float,
) -> int:
    """Write (key, item uuid, data hash) rows in `state`, replacing what a key had."""
    if not rows:
        return 0
    dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(_L)
    statement = statement.on_conflict_do_update(
        index_elements=[_L.c.pipeline, _L.c.key, _L.c.dataset_hash],
        set_={
            "item_uuid": statement.excluded.item_uuid,
            "data_hash": statement.excluded.data_hash,
            "state": statement.excluded.state,
            "updated_at": statement.excluded.updated_at,
        },
    )
    conn.execute(
        statement,
        [
            {
                "pipeline": pipeline,
                "key": key,
                "dataset_hash": dataset_hash,
                "item_uuid": item_uuid,
                "data_hash": data_hash,
                "state": state,
                "updated_at": now,
            }
            for key, item_uuid, data_hash in rows
        ],
    )
    return len(rows)


def set_state(
    conn: Connection,
    pipeline: str,
    dataset_hash: str,
    data_hashes: Collection[str],
    state: LinkState,
    now: float,
) -> int:
    """Move the rows of these data rows to `state`."""
    if not data_hashes:
        return 0
    result = conn.execute(
        update(_L)
        .where(_scope(pipeline, dataset_hash), _L.c.data_hash == bindparam("b_hash"))
        .values(state=state, updated_at=now),
        [{"b_hash": data_hash} for data_hash in data_hashes],
    )
    return int(result.rowcount)


def drop_data_rows(
    conn: Connection, pipeline: str, dataset_hash: str, data_hashes: Collection[str]
) -> int:
    """Forget the rows of these data rows (they were removed from the dataset)."""
    if not data_hashes:
        return 0
    result = conn.execute(
        delete(_L).where(_scope(pipeline, dataset_hash), _L.c.data_hash == bindparam("b_hash")),
        [{"b_hash": data_hash} for data_hash in data_hashes],
    )
    return int(result.rowcount)


def drop_keys(conn: Connection, pipeline: str, dataset_hash: str, keys: Collection[str]) -> int:
    """Forget these keys' rows for one dataset."""
    if not keys:
        return 0
    result = conn.execute(
        delete(_L).where(_scope(pipeline, dataset_hash), _L.c.key == bindparam("b_key")),
        [{"b_key": key} for key in keys],
    )
    return int(result.rowcount)


def sync_file_states(conn: Connection, pipeline: str, now: float) -> tuple[int, int]:
    """`registered` files with a LINKED row become `linked`, `linked` ones without one go back;
    returns (files now linked, files no longer linked)."""
    has_link = exists().where(
        _L.c.pipeline == files.c.pipeline,
        _L.c.key == files.c.key,
        _L.c.state == LinkState.LINKED,
    )
    in_pipeline = files.c.pipeline == pipeline
    linked = conn.execute(
        update(files)
        .where(in_pipeline, files.c.state == FileState.REGISTERED, has_link)
        .values(state=FileState.LINKED, updated_at=now)
    ).rowcount
    unlinked = conn.execute(
        update(files)
        .where(in_pipeline, files.c.state == FileState.LINKED, ~has_link)
        .values(state=FileState.REGISTERED, updated_at=now)
    ).rowcount
    return int(linked), int(unlinked)


def forget_items(conn: Connection, pipeline: str, keys: Collection[str], now: float) -> int:
    """Deleted files whose storage item was deleted: no item in Encord any more."""
    if not keys:
        return 0
    result = conn.execute(
        update(files)
        .where(
            files.c.pipeline == pipeline,
            files.c.key == bindparam("b_key"),
            files.c.state == FileState.DELETED,
        )
        .values(item_uuid=None, updated_at=now),
        [{"b_key": key} for key in keys],
    )
    return int(result.rowcount)
