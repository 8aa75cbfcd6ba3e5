"""Engines for the ledger: SQLite (WAL, writers serialised with BEGIN IMMEDIATE) and PostgreSQL.

SQLite's deferred transactions fail with SQLITE_BUSY, without waiting, when a reader upgrades
to a writer after another process wrote. So write transactions open with `BEGIN IMMEDIATE`
(they wait for the lock, up to the busy timeout) and read-only ones with a plain `BEGIN`.
A connection opts in with `connection.execution_options(ledger_write=True)`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event

from dagster_encord.errors import LedgerError

SQLITE_BUSY_TIMEOUT_SECONDS = 600
LEDGER_FILENAME = "encord_ledger.sqlite"


def normalise_url(url: str) -> str:
    """A bare path means an SQLite file."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    return url


def dagster_home_url(dagster_home: str | None = None) -> str:
    home = dagster_home or os.environ.get("DAGSTER_HOME")
    if not home:
        raise LedgerError(
            "the ledger defaults to a file under DAGSTER_HOME, which is not set; set "
            "DAGSTER_HOME or pass a ledger URL (sqlite:///path or postgresql://...)"
        )
    return f"sqlite:///{Path(home).expanduser().resolve() / LEDGER_FILENAME}"


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True, future=True)


def _sqlite_engine(url: str) -> Engine:
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get("ledger_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def describe(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(normalise_url(url)).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable ledger URL>"


def check_reachable(engine: Engine, url: str) -> None:
    try:
        with engine.connect():
            pass
    except Exception as error:
        raise LedgerError(
            f"ledger database {describe(url)} cannot be reached ({type(error).__name__}); "
            "check that the server runs and the URL is right"
        ) from None
