"""Ledger fixtures: every test runs on SQLite and on the real PostgreSQL (127.0.0.1:5432).

`pg_url` (a schema of its own, failing when the server is unreachable) comes from the
tests/emulators/postgres.py plugin.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.sqlite'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(name))
