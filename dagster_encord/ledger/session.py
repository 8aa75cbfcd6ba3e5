"""Transactions on a ledger engine: reads, writes, the per-pipeline writer lock, table creation
and a connection with a listing staged in its scratch table.

Every write (`ingest`, `plan`, each transition) runs in one transaction that first updates the
pipeline's row in `encord_locks`, so two processes never plan or move the same file at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, delete, update

from dagster_encord.ledger.listing import insert_ignore, stage_listing
from dagster_encord.ledger.tables import listing_scratch, locks, metadata
from dagster_encord.sources.base import ObjectRecord

# Serialises concurrent `create_all` on PostgreSQL (two processes creating tables at once).
_CREATE_TABLES_LOCK = 74102311


@contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """A write transaction (BEGIN IMMEDIATE on SQLite)."""
    with engine.connect() as conn:
        conn.execution_options(ledger_write=True)
        with conn.begin():
            yield conn


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn


def create_tables(engine: Engine) -> None:
    with write(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_CREATE_TABLES_LOCK})")
        metadata.create_all(conn, checkfirst=True)


def lock(conn: Connection, pipeline: str, holder: str) -> None:
    """Serialise writers of `pipeline` until the transaction ends."""
    now = time.time()
    taken = conn.execute(
        update(locks).where(locks.c.pipeline == pipeline).values(holder=holder, acquired_at=now)
    ).rowcount
    if not taken:
        conn.execute(
            insert_ignore(locks, conn),
            [{"pipeline": pipeline, "holder": holder, "acquired_at": now}],
        )
        conn.execute(
            update(locks).where(locks.c.pipeline == pipeline).values(holder=holder, acquired_at=now)
        )


@contextmanager
def staged(
    engine: Engine, pages: Iterable[Sequence[ObjectRecord]], batch_size: int
) -> Iterator[tuple[Connection, int]]:
    """A connection with `pages` staged in its scratch table, set for writes.

    Yields the connection and the distinct key count. Afterwards (also on error) an open
    transaction is rolled back and the scratch table is emptied in a transaction of its own.
    """
    with engine.connect() as conn:
        try:
            listed = stage_listing(conn, pages, batch_size)
            conn.execution_options(ledger_write=True)
            yield conn, listed
        finally:
            if conn.in_transaction():
                conn.rollback()
            conn.execution_options(ledger_write=False)
            with conn.begin():
                conn.execute(delete(listing_scratch))
