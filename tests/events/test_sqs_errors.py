"""SQS reader failures: queue URLs refused before any request, and a missing queue, denied
access, rejected credentials and an unreachable endpoint, each as the package's error naming the
queue and the fix (moto's server; the auth server enforces IAM)."""

from __future__ import annotations

import secrets
import socket
import uuid

import pytest

from dagster_encord.errors import (
    AccessDeniedError,
    BadCredentialsError,
    EndpointUnreachableError,
    QueueNotFoundError,
    SourceError,
)
from dagster_encord.events import QueueMessage
from dagster_encord.events.sqs import SqsReader, parse_queue_url, queue_url_problem
from tests.emulators.s3 import S3AuthServer

ACCOUNT = "123456789012"  # moto's default account


def test_queue_url_forms() -> None:
    aws = parse_queue_url("sqs://eu-west-1/123456789012/bucket-events")
    assert aws.queue_url == "https://sqs.eu-west-1.amazonaws.com/123456789012/bucket-events"
    assert (aws.region, aws.endpoint_url) == ("eu-west-1", None)
    https = parse_queue_url("https://sqs.eu-west-1.amazonaws.com/123456789012/bucket-events")
    assert https == aws
    local = parse_queue_url("http://127.0.0.1:5000/123456789012/q.fifo")
    assert (local.queue_url, local.endpoint_url, local.region, local.name) == (
        "http://127.0.0.1:5000/123456789012/q.fifo",
        "http://127.0.0.1:5000",
        None,
        "q.fifo",
    )
    routed = parse_queue_url("sqs://us-east-1/123456789012/q", "http://127.0.0.1:5000")
    assert routed.queue_url == "http://127.0.0.1:5000/123456789012/q"
    for bad in (
        "sqs://123456789012/us-east-1/q",
        "sqs://us-east-1/q",
        "s3://bucket/q",
        "https://sqs.us-east-1.amazonaws.com/q",
        "sqs://us-east-1/123456789012/bad name",
    ):
        assert (problem := queue_url_problem(bad)) is not None
        assert "queue" in problem
    assert queue_url_problem("sqs://us-east-1/123456789012/q") is None


def test_a_region_that_contradicts_the_url_is_refused() -> None:
    with pytest.raises(SourceError, match=r"region 'eu-west-1' disagrees.*us-east-1"):
        SqsReader("sqs://us-east-1/123456789012/q", region="eu-west-1")


def test_missing_queue(s3_server: str) -> None:
    url = f"sqs://us-east-1/{ACCOUNT}/no-such-queue-{uuid.uuid4().hex[:8]}"
    reader = SqsReader(url, endpoint_url=s3_server)
    fix = f"SQS queue 'no-such-queue-.*' does not exist at {s3_server} .*{url}.*check the account"
    with pytest.raises(QueueNotFoundError, match=fix):
        reader.receive(10, wait_seconds=0)
    assert (problem := reader.queue_problem()) is not None and "does not exist" in problem


def test_access_denied_names_the_permissions(s3_auth_server: S3AuthServer) -> None:
    reader = SqsReader(
        f"{s3_auth_server.endpoint_url}/{ACCOUNT}/bucket-events",
        access_key_id=s3_auth_server.denied_key_id,
        secret_access_key=s3_auth_server.denied_secret,
    )
    arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:bucket-events"
    with pytest.raises(AccessDeniedError, match=f"sqs:ReceiveMessage.*{arn}"):
        reader.receive(10, wait_seconds=0)
    fake = QueueMessage("m-1", handle="h")
    with pytest.raises(AccessDeniedError, match="delete messages from"):
        reader.acknowledge([fake])
    assert (problem := reader.queue_problem()) is not None and "access denied" in problem


def test_rejected_credentials_are_never_shown(s3_auth_server: S3AuthServer) -> None:
    wrong_secret = secrets.token_urlsafe(30)
    reader = SqsReader(
        f"{s3_auth_server.endpoint_url}/{ACCOUNT}/bucket-events",
        access_key_id=s3_auth_server.denied_key_id,
        secret_access_key=wrong_secret,
    )
    with pytest.raises(BadCredentialsError, match=r"SignatureDoesNotMatch.*AWS_ACCESS_KEY_ID") as e:
        reader.receive(10, wait_seconds=0)
    assert wrong_secret not in str(e.value) and wrong_secret not in repr(reader)
    unknown = SqsReader(
        f"{s3_auth_server.endpoint_url}/{ACCOUNT}/bucket-events",
        access_key_id=f"AKIA{secrets.token_hex(8).upper()}",
        secret_access_key=secrets.token_urlsafe(30),
    )
    with pytest.raises(BadCredentialsError, match="InvalidClientTokenId"):
        unknown.receive(10, wait_seconds=0)


def test_unreachable_endpoint(s3_server: str) -> None:  # s3_server: credentials in env
    with socket.socket() as sock:  # bound, not listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{sock.getsockname()[1]}"
        reader = SqsReader(f"{endpoint}/{ACCOUNT}/q", max_attempts=1)
        with pytest.raises(EndpointUnreachableError, match=f"cannot reach {endpoint}.*/q"):
            reader.receive(10, wait_seconds=0)
