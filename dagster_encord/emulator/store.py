"""SQLite persistence for the emulator: one table of JSON documents keyed by (kind, key).

The emulator keeps its state in memory; with a state file every change is also written here so a
restart loads everything back. Documents are whole records, so the schema never needs migrating.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson


class SqliteStore:
    """Write-through document store. Thread-safe; callers batch writes per logical change."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS docs"
            " (kind TEXT NOT NULL, key TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (kind, key))"
        )

    def put_many(self, kind: str, docs: Iterable[tuple[str, dict[str, Any]]]) -> None:
        rows = [(kind, key, orjson.dumps(doc)) for key, doc in docs]
        if not rows:
            return
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany("INSERT OR REPLACE INTO docs VALUES (?, ?, ?)", rows)
            self._conn.execute("COMMIT")

    def delete_many(self, kind: str, keys: Iterable[str]) -> None:
        rows = [(kind, key) for key in keys]
        if not rows:
            return
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany("DELETE FROM docs WHERE kind = ? AND key = ?", rows)
            self._conn.execute("COMMIT")

    def load(self, kind: str) -> Iterator[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute("SELECT doc FROM docs WHERE kind = ?", (kind,)).fetchall()
        for (doc,) in rows:
            yield orjson.loads(doc)

    def clear(self) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM docs")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
