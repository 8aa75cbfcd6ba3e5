"""The production code location (deployments/) on a Dagster instance with PostgreSQL storage.

Runs against the real PostgreSQL server on 127.0.0.1:5432, moto's S3 and the Encord emulator.
A missing PostgreSQL server fails these tests; it never skips them.
"""

from __future__ import annotations

import importlib.util
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import boto3
import dagster as dg
import psycopg2
import pytest
from encord import EncordUserClient

from dagster_encord.dagster.naming import PipelineNames
from dagster_encord.emulator import EncordEmulator

NAMES = PipelineNames("prod")  # passed as ENCORD_PIPELINE

ROOT = Path(__file__).resolve().parents[2]
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


@pytest.fixture
def postgres_database() -> Iterator[str]:
    name = f"dagster_encord_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(dbname="postgres", connect_timeout=5, **PG)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _load_definitions_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "deployment_definitions", ROOT / "deployments" / "definitions.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pipeline_runs_on_postgres_storage_with_postgres_ledger(
    postgres_database: str,
    s3_bucket: tuple[str, str],
    encord_emulator: EncordEmulator,
    encord_ssh_key: str,
    encord_integration: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endpoint, bucket = s3_bucket
    s3 = boto3.client("s3", endpoint_url=endpoint)
    for index in range(12):
        s3.put_object(Bucket=bucket, Key=f"frames/{index:03d}.jpg", Body=b"\xff\xd8\xff" + bytes(8))

    folder = EncordUserClient.create_with_ssh_private_key(
        encord_ssh_key, domain=encord_emulator.domain
    ).create_storage_folder("deployment-landing")

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deployments" / "dagster.yaml", home / "dagster.yaml")
    ledger_url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{postgres_database}"
    for name, value in {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": "5432",
        "DAGSTER_PG_USER": "postgres",
        "DAGSTER_PG_PASSWORD": "",
        "DAGSTER_PG_DB": postgres_database,
        "ENCORD_SSH_KEY": encord_ssh_key,
        "ENCORD_DOMAIN": encord_emulator.domain,
        "ENCORD_SOURCE_URL": f"s3://{bucket}",
        "ENCORD_SOURCE_ENDPOINT_URL": endpoint,
        "ENCORD_FOLDER": str(folder.uuid),
        "ENCORD_INTEGRATION": encord_integration,
        "ENCORD_LEDGER_URL": ledger_url,
        "ENCORD_PIPELINE": NAMES.name,
    }.items():
        monkeypatch.setenv(name, value)

    defs = _load_definitions_module().defs()
    assert isinstance(defs, dg.Definitions)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert "Postgres" in type(instance.run_storage).__name__
        listing = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance, asset_selection=[NAMES.key("bucket_listing")]
        )
        assert listing.success
        chunk_ids = instance.get_dynamic_partitions(NAMES.partitions)
        assert chunk_ids
        for chunk_id in chunk_ids:
            run = defs.resolve_job_def(NAMES.chunk_job).execute_in_process(
                instance=instance, partition_key=chunk_id
            )
            assert run.success
        stored_runs = instance.get_runs()
        assert len(stored_runs) == 1 + len(chunk_ids)

    names = sorted(item.name for item in folder.list_items())
    assert len(names) == 12
    assert all(name.endswith(f"frames/{i:03d}.jpg") for i, name in enumerate(names))
    assert encord_emulator.duplicate_items() == 0


@pytest.mark.parametrize(
    ("choice", "executor_name"),
    [("in_process", "in_process"), ("multiprocess", "multiprocess")],
)
def test_executor_choice_reaches_the_chunk_job(
    choice: str, executor_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "ENCORD_SSH_KEY": "unused-in-this-test",
        "ENCORD_SOURCE_URL": "s3://bucket",
        "ENCORD_FOLDER": "landing",
        "ENCORD_INTEGRATION": "aws",
        "ENCORD_PIPELINE": NAMES.name,
        "ENCORD_EXECUTOR": choice,
    }.items():
        monkeypatch.setenv(name, value)
    defs = _load_definitions_module().defs()
    assert isinstance(defs, dg.Definitions)
    assert defs.resolve_job_def(NAMES.chunk_job).executor_def.name == executor_name
