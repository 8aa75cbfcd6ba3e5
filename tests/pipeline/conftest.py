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
