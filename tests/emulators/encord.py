"""Encord fixtures: our own Encord API emulator (`dagster_encord.emulator`) on a free port.

- `encord_emulator` (function): a fresh `EncordEmulator` (in-memory state), started and stopped
  around the test. Startup takes a few milliseconds, so every test gets its own.
- `encord_ssh_key` (function): an ed25519 private key generated now and registered.
- `encord_integration` (function): the uuid of an S3 cloud integration titled "test-s3".
- `encord_user_client` (function): a real `encord.EncordUserClient` bound to the emulator.
- `client` (function): the package's own `EncordClient` on the emulator with that key.
- `folder` (function): the uuid of a new storage folder "cams".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from dagster_encord.emulator import EncordEmulator

if TYPE_CHECKING:
    from encord import EncordUserClient

    from dagster_encord.encord_client.client import EncordClient


@pytest.fixture
def encord_emulator() -> Iterator[EncordEmulator]:
    with EncordEmulator() as emulator:
        yield emulator


@pytest.fixture
def encord_ssh_key(encord_emulator: EncordEmulator) -> str:
    return encord_emulator.new_ssh_key()


@pytest.fixture
def encord_integration(encord_emulator: EncordEmulator) -> str:
    return encord_emulator.add_integration("test-s3", "s3")


@pytest.fixture
def encord_user_client(encord_emulator: EncordEmulator, encord_ssh_key: str) -> EncordUserClient:
    from encord import EncordUserClient

    return EncordUserClient.create_with_ssh_private_key(
        encord_ssh_key, domain=encord_emulator.domain
    )


@pytest.fixture
def client(encord_emulator: EncordEmulator, encord_ssh_key: str) -> EncordClient:
    from dagster_encord.encord_client.client import EncordClient

    return EncordClient.from_ssh_key(encord_ssh_key, domain=encord_emulator.domain)


@pytest.fixture
def folder(encord_user_client: EncordUserClient) -> str:
    return str(encord_user_client.create_storage_folder("cams").uuid)
