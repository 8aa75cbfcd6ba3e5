"""S3 bucket notifications delivered to an SQS queue: an `EventReader` on boto3.

The queue is named as `sqs://REGION/ACCOUNT_ID/QUEUE_NAME`, as its https URL
(`https://sqs.REGION.amazonaws.com/ACCOUNT_ID/QUEUE_NAME`), or as a URL on another endpoint
(moto, ElasticMQ, a VPC endpoint: `http://127.0.0.1:PORT/ACCOUNT_ID/QUEUE_NAME`). Credentials
work as for `s3://` sources (the same `aws_session`): boto3's chain, a profile, explicit keys
resolved by the caller from environment variables, or an assumed role. Bodies are parsed by
`s3_notifications` (direct, SNS-wrapped or EventBridge-wrapped notifications).

A message that is not an S3 notification comes back with `poison` set and is logged with its id;
`acknowledge` never deletes it, so the queue's RedrivePolicy (maxReceiveCount) moves it to the
dead-letter queue. Without a RedrivePolicy it is received again after each visibility timeout
until the queue's retention period ends: give the queue a dead-letter queue.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import botocore.exceptions
from botocore.config import Config

from dagster_encord.credentials import redact_url
from dagster_encord.errors import (
    AccessDeniedError,
    AcknowledgeError,
    BadCredentialsError,
    QueueNotFoundError,
    SourceError,
)
from dagster_encord.events.base import QueueMessage
from dagster_encord.events.s3_notifications import NotAnS3Event, parse_body
from dagster_encord.sources.diagnostics import translated_errors, unreachable
from dagster_encord.sources.s3 import aws_session
from dagster_encord.sources.s3_errors import code_from_message, missing_credentials
from dagster_encord.sources.urls import strip_endpoint

log = logging.getLogger(__name__)

BATCH_LIMIT = 10  # ReceiveMessage and DeleteMessageBatch take at most 10 messages
LONG_POLL_LIMIT = 20  # WaitTimeSeconds is 0..20
# Concurrent calls of one receive round or acknowledgement (botocore's pool holds as many), so
# a backlog costs round trips per 100 messages, not per 10.
PARALLEL_CALLS = 10
_AWS_HOST = re.compile(r"^(?:sqs\.([a-z0-9-]+)|([a-z0-9-]+)\.queue)\.amazonaws\.com(?:\.cn)?$")
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d+$")
_ACCOUNT = re.compile(r"^\d{12}$")
_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}(?:\.fifo)?$")
_URL_FORMS = (
    "sqs://REGION/ACCOUNT_ID/QUEUE_NAME or https://sqs.REGION.amazonaws.com/ACCOUNT_ID/QUEUE_NAME"
)

_NO_QUEUE = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}
_DENIED = {"AccessDenied", "AccessDeniedException", "KMS.AccessDeniedException", "403"}
_BAD_CREDENTIALS = {
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "InvalidAccessKeyId",
    "InvalidSecurity",
    "ExpiredToken",
}
_CONNECTION_ERRORS = (
    botocore.exceptions.EndpointConnectionError,
    botocore.exceptions.ConnectTimeoutError,
    botocore.exceptions.ReadTimeoutError,
    botocore.exceptions.ConnectionClosedError,
)


@dataclass(frozen=True)
class QueueAddress:
    """Where a queue is: `queue_url` is SQS's QueueUrl; `endpoint_url` is None on AWS."""

    queue_url: str
    account: str
    name: str
    region: str | None
    endpoint_url: str | None


def parse_queue_url(url: str, endpoint_url: str | None = None) -> QueueAddress:
    """The address of `url`; raises SourceError naming the accepted forms."""
    endpoint_url = strip_endpoint(endpoint_url) if endpoint_url else None
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    segments = [segment for segment in parts.path.split("/") if segment]
    if scheme == "sqs":
        region = parts.netloc
        if not _REGION.match(region) or len(segments) != 2 or not _ACCOUNT.match(segments[0]):
            raise SourceError(f"{redact_url(url)!r} is not a queue URL: use {_URL_FORMS}")
        account, name = segments
        base = endpoint_url or f"https://sqs.{region}.amazonaws.com"
        address = QueueAddress(f"{base}/{account}/{name}", account, name, region, endpoint_url)
    elif scheme in ("https", "http") and parts.netloc and len(segments) >= 2:
        account, name = segments[-2:]
        aws = _AWS_HOST.match(parts.hostname or "")
        # On another endpoint (moto, ElasticMQ, a VPC endpoint) the client must talk to it.
        prefix = "/".join(segments[:-2])
        own_endpoint = f"{scheme}://{parts.netloc}" + (f"/{prefix}" if prefix else "")
        endpoint = endpoint_url or (None if aws else own_endpoint)
        host_region = (aws.group(1) or aws.group(2)) if aws else None
        address = QueueAddress(
            f"{own_endpoint}/{account}/{name}", account, name, host_region, endpoint
        )
    else:
        raise SourceError(f"{redact_url(url)!r} is not a queue URL: use {_URL_FORMS}")
    if not _QUEUE_NAME.match(address.name):
        raise SourceError(
            f"{redact_url(url)!r}: {address.name!r} is not an SQS queue name (letters, digits, "
            "'-' and '_', at most 80 characters)"
        )
    return address


def queue_url_problem(url: str) -> str | None:
    """Why `url` is not an SQS queue URL (for configuration checks, no network), or None."""
    try:
        parse_queue_url(url)
    except SourceError as error:
        return str(error)
    return None


class SqsReader:
    """S3 notifications from one SQS queue (an `EventReader`).

    `receive` and `acknowledge` raise the package's errors: QueueNotFoundError,
    AccessDeniedError, BadCredentialsError, EndpointUnreachableError; `acknowledge` raises
    AcknowledgeError naming the messages SQS did not delete (after trying all of them).
    """

    def __init__(
        self,
        url: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        profile: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
        role_arn: str | None = None,
        visibility_timeout: int | None = None,
        max_attempts: int = 3,
    ) -> None:
        self.url = url
        self.address = parse_queue_url(url, endpoint_url)
        if region and self.address.region and region != self.address.region:
            raise SourceError(
                f"region {region!r} disagrees with the queue URL {redact_url(url)} (region "
                f"{self.address.region!r}): drop the region option or fix the URL"
            )
        if visibility_timeout is not None and not 0 <= visibility_timeout <= 43200:
            raise SourceError(
                f"visibility_timeout={visibility_timeout} for {redact_url(url)}: SQS takes "
                "0 to 43200 seconds (leave it unset for the queue's own default)"
            )
        self.visibility_timeout = visibility_timeout
        self.session = aws_session(
            redact_url(url),
            profile,
            access_key_id,
            secret_access_key,
            session_token,
            self.address.region or region,
            role_arn,
        )
        self.region = self.address.region or region or self.session.region_name or "us-east-1"
        self._config = Config(
            region_name=self.region,
            retries={"max_attempts": max_attempts, "mode": "standard"},
            connect_timeout=10,
            max_pool_connections=PARALLEL_CALLS,
            read_timeout=LONG_POLL_LIMIT + 20,  # a long poll holds the response up to 20 s
        )
        self._client: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SqsReader({redact_url(self.url)!r}, endpoint_url={self.address.endpoint_url!r})"

    @property
    def queue_url(self) -> str:
        return self.address.queue_url

    @property
    def queue_arn(self) -> str:
        return f"arn:aws:sqs:{self.region}:{self.address.account}:{self.address.name}"

    @property
    def client(self) -> Any:
        """The boto3 SQS client (created once, on first use)."""
        with self._lock:
            if self._client is None:
                self._client = self.session.client(
                    "sqs", endpoint_url=self.address.endpoint_url, config=self._config
                )
            return self._client

    def receive(self, max_messages: int, wait_seconds: float) -> list[QueueMessage]:
        """Up to `max_messages`, in calls of 10 until a call brings nothing new.

        Only the first call long-polls (up to 20 s of `wait_seconds`); the rest are short polls,
        so an empty queue costs one call. When a call comes back full, the next round makes up
        to `PARALLEL_CALLS` calls at once: 100 waiting messages cost two round trips, not
        eleven. A message received twice in one call of `receive` (its visibility timeout ran
        out meanwhile) is returned once, with its newest receipt handle: SQS deletes only with
        the newest.
        """
        received: dict[str, QueueMessage] = {}
        wait = int(min(max(wait_seconds, 0), LONG_POLL_LIMIT))
        calls = 1
        while len(received) < max_messages:
            wanted = max_messages - len(received)
            sizes = [min(BATCH_LIMIT, wanted - start) for start in range(0, wanted, BATCH_LIMIT)]
            batches = self._receive_round(sizes[:calls], wait)
            drained = False
            for batch in batches:
                before = len(received)
                for item in batch:
                    message = self._parse(item)
                    received[message.message_id] = message
                # Empty, or only repeats (a visibility timeout shorter than this loop).
                drained = drained or len(received) == before
            if drained:
                break
            full = all(len(batch) == BATCH_LIMIT for batch in batches)
            calls = PARALLEL_CALLS if full else 1
            wait = 0
        return list(received.values())

    def _receive_round(self, sizes: list[int], wait: int) -> list[list[dict[str, Any]]]:
        """One ReceiveMessage call per size, concurrently when there are several."""

        def call(size: int) -> list[dict[str, Any]]:
            request: dict[str, Any] = {
                "QueueUrl": self.queue_url,
                "MaxNumberOfMessages": size,
                "WaitTimeSeconds": wait,  # explicit: 0 overrides a queue's long-poll default
                "MessageSystemAttributeNames": ["ApproximateReceiveCount"],
            }
            if self.visibility_timeout is not None:
                request["VisibilityTimeout"] = self.visibility_timeout
            with self._translated("receive messages from"):
                return list(self.client.receive_message(**request).get("Messages", []))

        if len(sizes) == 1:
            return [call(sizes[0])]
        with ThreadPoolExecutor(len(sizes)) as pool:
            return list(pool.map(call, sizes))

    def acknowledge(self, messages: Sequence[QueueMessage]) -> None:
        """Delete these messages, 10 per DeleteMessageBatch call, up to `PARALLEL_CALLS` calls
        at once.

        Poison messages are skipped, so a caller may pass a whole batch: they stay for the
        dead-letter policy. Raises AcknowledgeError with the ids SQS did not delete, after
        trying every batch (those messages come back; the ledger ignores the repeat).
        """
        handles: dict[str, str] = {}
        for message in messages:
            if message.poison is not None:
                continue
            if not isinstance(message.handle, str):
                raise ValueError(
                    f"message {message.message_id} has no SQS receipt handle: acknowledge only "
                    f"messages received from {redact_url(self.url)}"
                )
            handles[message.message_id] = message.handle  # DeleteMessageBatch refuses repeats
        pending = list(handles.items())
        chunks = [
            pending[start : start + BATCH_LIMIT] for start in range(0, len(pending), BATCH_LIMIT)
        ]
        if not chunks:
            return

        def delete(chunk: list[tuple[str, str]]) -> list[tuple[str, str]]:
            entries = [
                {"Id": str(index), "ReceiptHandle": handle}
                for index, (_, handle) in enumerate(chunk)
            ]
            with self._translated("delete messages from"):
                response = self.client.delete_message_batch(
                    QueueUrl=self.queue_url, Entries=entries
                )
            return [
                (chunk[int(failure["Id"])][0], str(failure.get("Code", "error")))
                for failure in response.get("Failed", [])
            ]

        with ThreadPoolExecutor(min(PARALLEL_CALLS, len(chunks))) as pool:
            # list() re-raises the first error that concerns the whole queue (credentials, ...).
            failed = [failure for failures in pool.map(delete, chunks) for failure in failures]
        if failed:
            raise _acknowledge_error(redact_url(self.url), failed)

    def queue_problem(self) -> str | None:
        """Why this queue cannot be read (missing, access denied, bad credentials, no answer),
        asked with one GetQueueAttributes call, or None. The text is the error's message."""
        try:
            with self._translated("read the attributes of"):
                self.client.get_queue_attributes(
                    QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
                )
        except SourceError as error:
            return str(error)
        return None

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _parse(self, item: dict[str, Any]) -> QueueMessage:
        message_id = str(item["MessageId"])
        try:
            events = parse_body(str(item.get("Body", "")))
        except NotAnS3Event as error:
            count = item.get("Attributes", {}).get("ApproximateReceiveCount", "?")
            log.warning(
                "SQS message %s on %s is not an S3 notification (%s); left for the queue's "
                "dead-letter policy (received %s times)",
                message_id,
                redact_url(self.url),
                error,
                count,
            )
            return QueueMessage(message_id, poison=str(error), handle=item["ReceiptHandle"])
        return QueueMessage(message_id, events=events, handle=item["ReceiptHandle"])

    def _translated(self, action: str) -> AbstractContextManager[None]:
        return translated_errors(
            redact_url(self.url), None, partial(_raise_translated, self, action)
        )


def _raise_translated(
    reader: SqsReader, action: str, where: str, _: str | None, error: Exception
) -> None:
    """Raise the package error for an SDK `error`, if it is one we recognise."""
    address = reader.address
    if isinstance(error, botocore.exceptions.ClientError):
        info = error.response.get("Error", {})
        message = str(info.get("Message", ""))
        # moto answers IAM failures with an XML body, so the real code is inside the message.
        found = (info.get("Code"), info.get("QueryErrorCode"), code_from_message(message))
        codes = {str(found_code) for found_code in found if found_code}
        code = next((c for c in found if c and c != "403"), info.get("Code"))
        if codes & _NO_QUEUE:
            at = f" at {address.endpoint_url}" if address.endpoint_url else ""
            raise QueueNotFoundError(
                f"SQS queue {address.name!r} does not exist{at} ({where}): check the account, "
                "region and queue name in events.queue, and options.endpoint_url"
            ) from None
        if codes & _BAD_CREDENTIALS:
            raise BadCredentialsError(
                f"AWS rejected the credentials for {where} ({code}): check "
                "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, AWS_PROFILE or "
                "the role (`aws sts get-caller-identity` shows who you are)"
            ) from None
        if codes & _DENIED:
            raise AccessDeniedError(
                f"access denied when trying to {action} {where}: grant the credentials "
                f"sqs:ReceiveMessage, sqs:DeleteMessage and sqs:GetQueueAttributes on "
                f"{reader.queue_arn} (and kms:Decrypt if the queue is encrypted with a KMS key)"
            ) from None
        detail = f": {message[:200]}" if message else ""
        raise SourceError(f"could not {action} {where} ({code}){detail}") from None
    if isinstance(
        error, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError
    ):
        raise missing_credentials(where) from None
    if isinstance(error, _CONNECTION_ERRORS):
        endpoint = address.endpoint_url or f"https://sqs.{reader.region}.amazonaws.com"
        raise unreachable(where, endpoint, type(error).__name__) from None


def _acknowledge_error(where: str, failed: list[tuple[str, str]]) -> AcknowledgeError:
    shown = ", ".join(f"{message_id} ({code})" for message_id, code in failed[:10])
    more = f" and {len(failed) - 10} more" if len(failed) > 10 else ""
    return AcknowledgeError(
        f"SQS did not delete {len(failed)} message(s) from {where}: {shown}{more}. They will be "
        "received again after the visibility timeout and recorded once (the ledger ignores "
        "repeats); a ReceiptHandleIsInvalid means the visibility timeout ran out before the "
        "acknowledgement: raise the queue's VisibilityTimeout above the sensor's tick",
        [message_id for message_id, _ in failed],
    )
