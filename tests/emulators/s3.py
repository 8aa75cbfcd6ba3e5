"""S3 fixtures: moto's `ThreadedMotoServer` on a free port of 127.0.0.1.

- `s3_server` (session): the endpoint URL. Dummy AWS credentials, generated at session start,
  are put in the environment so boto3 clients and our sources find them through the standard chain.
- `s3_bucket` (function): a fresh, uniquely named bucket: `(endpoint_url, bucket_name)`.
- `s3_auth_server` (session): a second moto server, in its own process, that enforces IAM
  authentication, with a bucket and a user who has no permissions (for access-denied and
  bad-credential tests).
"""

from __future__ import annotations

import secrets
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.emulators.processes import (
    free_port,
    http_answers,
    start_process,
    stop_process,
    wait_until,
)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    patch = pytest.MonkeyPatch()
    patch.setenv("AWS_ACCESS_KEY_ID", f"test{secrets.token_hex(8)}")
    patch.setenv("AWS_SECRET_ACCESS_KEY", secrets.token_urlsafe(30))
    patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    patch.delenv("AWS_PROFILE", raising=False)
    patch.setenv("AWS_CONFIG_FILE", "/dev/null")
    patch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_until(http_answers(f"{endpoint}/moto-api/"), "moto S3 server")
        yield endpoint
    finally:
        server.stop()
        patch.undo()


@pytest.fixture()
def s3_bucket(s3_server: str) -> Iterator[tuple[str, str]]:
    bucket = f"test-{uuid.uuid4().hex[:16]}"
    boto3.client("s3", endpoint_url=s3_server).create_bucket(Bucket=bucket)
    yield s3_server, bucket


@dataclass(frozen=True)
class S3AuthServer:
    """A moto server that checks credentials; the secrets are generated and kept out of reprs."""

    endpoint_url: str
    bucket: str
    denied_key_id: str = field(repr=False)
    denied_secret: str = field(repr=False)


@pytest.fixture(scope="session")
def s3_auth_server(s3_server: str) -> Iterator[S3AuthServer]:
    port = free_port()
    # The first 3 requests (user, key, bucket) are unauthenticated; IAM is enforced after.
    process = start_process(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env={"INITIAL_NO_AUTH_ACTION_COUNT": "3"},
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_until(http_answers(f"{endpoint}/moto-api/"), "moto S3 server (auth)", process=process)
        iam = boto3.client("iam", endpoint_url=endpoint)
        user = f"denied-{uuid.uuid4().hex[:8]}"
        iam.create_user(UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        bucket = f"locked-{uuid.uuid4().hex[:12]}"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
        yield S3AuthServer(endpoint, bucket, key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        stop_process(process)
