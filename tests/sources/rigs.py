"""Contract-test rigs: one object per provider (behind its real emulator) with the same interface.

A rig creates a fresh bucket through the provider's own SDK (not our code), puts objects in it,
and opens our `Source` on it. The contract tests run one body over every rig.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from dagster_encord.sources import ObjectRecord, Source, open_source

RIG_NAMES = ["s3-obstore", "s3-boto3", "gcs", "azure", "local"]


@dataclass
class Rig:
    name: str
    url: str  # the bucket root, without a trailing slash
    put: Callable[[str, bytes], None]
    options: dict[str, Any] = field(default_factory=dict, repr=False)
    second_precision: bool = True  # last_modified is rounded to whole seconds
    set_mtime: Callable[[str, datetime], None] | None = None
    put_workers: int = 16  # the GCS emulator serves one request at a time

    def source(self, prefix: str = "", **extra: Any) -> Source:
        return open_source(f"{self.url}/{prefix}", **{**self.options, **extra})

    def put_many(self, keys: Iterable[str], data: bytes = b"x") -> None:
        with ThreadPoolExecutor(max_workers=self.put_workers) as pool:
            list(pool.map(lambda key: self.put(key, data), keys))


def all_records(source: Source, **kwargs: Any) -> list[ObjectRecord]:
    return [record for page in source.list_pages(**kwargs) for record in page]


def make_rig(name: str, request: pytest.FixtureRequest) -> Rig:
    return _FACTORIES[name.split("-")[0]](name, request)


def _s3(name: str, request: pytest.FixtureRequest) -> Rig:
    import boto3

    endpoint = request.getfixturevalue("s3_server")
    bucket = f"rig-{uuid.uuid4().hex[:16]}"
    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket=bucket)
    return Rig(
        name,
        f"s3://{bucket}",
        # Public read: tests GET object URLs unsigned, as Encord's emulator will.
        lambda key, data: client.put_object(Bucket=bucket, Key=key, Body=data, ACL="public-read"),
        {"endpoint_url": endpoint, "engine": name.split("-")[1]},
    )


def _gcs(name: str, request: pytest.FixtureRequest) -> Rig:
    from tests.emulators.gcs import gcs_client

    endpoint = request.getfixturevalue("gcs_server")
    bucket_name = f"rig-{uuid.uuid4().hex[:16]}"
    bucket = gcs_client(endpoint).create_bucket(bucket_name)
    return Rig(
        name,
        f"gs://{bucket_name}",
        lambda key, data: bucket.blob(key).upload_from_string(data),
        {"endpoint_url": endpoint},
        second_precision=False,
        put_workers=1,
    )


def _azure(name: str, request: pytest.FixtureRequest) -> Rig:
    from azure.storage.blob import BlobServiceClient

    connection_string = request.getfixturevalue("azurite_server")
    service = BlobServiceClient.from_connection_string(connection_string)
    container_name = f"rig-{uuid.uuid4().hex[:16]}"
    # Public read on blobs, so tests can GET object URLs like Encord would with a signed URL.
    container = service.create_container(container_name, public_access="blob")
    return Rig(
        name,
        f"az://{service.account_name}/{container_name}",
        lambda key, data: container.upload_blob(key, data, overwrite=True),
        {"connection_string": connection_string},
    )


def _local(name: str, request: pytest.FixtureRequest) -> Rig:
    tmp_path_factory: pytest.TempPathFactory = request.getfixturevalue("tmp_path_factory")
    root = tmp_path_factory.mktemp("bucket")

    def put(key: str, data: bytes) -> None:
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def set_mtime(key: str, moment: datetime) -> None:
        os.utime(root / key, (moment.timestamp(), moment.timestamp()))

    return Rig(
        name,
        Path(root).as_uri(),
        put,
        {"root": str(root)},
        second_precision=False,
        set_mtime=set_mtime,
    )


_FACTORIES: dict[str, Callable[[str, pytest.FixtureRequest], Rig]] = {
    "s3": _s3,
    "gcs": _gcs,
    "azure": _azure,
    "local": _local,
}
