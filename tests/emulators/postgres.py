"""PostgreSQL fixture: the real server on 127.0.0.1:5432 (trust auth, database `test`).

- `pg_url` (function): a SQLAlchemy URL whose `search_path` is a fresh schema of its own,
  dropped afterwards, so tests (and parallel runs) never see each other's tables.

An unreachable server makes the test fail with psycopg2's connection error; it never skips.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=5"
PG_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


def _pg_admin(statement: str) -> None:
    import psycopg2

    connection = psycopg2.connect(PG_DSN)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        _pg_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
