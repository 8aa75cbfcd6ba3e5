"""Fixtures for the pipeline tests: a moto bucket, an Encord emulator folder, a Dagster instance."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from encord import EncordUserClient

from dagster_encord.emulator import EncordEmulator
from tests.pipeline.harness import KEY_ENV, Harness


@pytest.fixture
def harness(
    s3_bucket: tuple[str, str],
    encord_emulator: EncordEmulator,
    encord_ssh_key: str,
    encord_integration: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Harness]:
    endpoint, bucket = s3_bucket
    monkeypatch.setenv(KEY_ENV, encord_ssh_key)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    user = EncordUserClient.create_with_ssh_private_key(
        encord_ssh_key, domain=encord_emulator.domain
    )
    folder = user.create_storage_folder(f"landing-{uuid.uuid4().hex[:6]}")
    (tmp_path / "instance").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "instance")) as instance:
        yield Harness(
            name="cams",
            endpoint=endpoint,
            bucket=bucket,
            emulator=encord_emulator,
            folder_uuid=str(folder.uuid),
            instance=instance,
            ledger_url=f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        )


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
def postgres_ledger_url() -> Iterator[str]:
    """A ledger URL on the real PostgreSQL, in a schema of its own (fails if the server is down)."""
    schema = f"pipeline_test_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        _pg_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
