"""Blob events from an Azure Storage Queue that an Event Grid subscription writes to.

`azqueue://ACCOUNT/QUEUE` or `https://ACCOUNT.queue.core.windows.net/QUEUE`. Options and
credentials are the blob source's (`sources/azure.py`, same helper): `connection_string` (or
AZURE_STORAGE_CONNECTION_STRING), `sas_token`, `account_key`, `credential`, else
DefaultAzureCredential; `endpoint_url` for Azurite (`http://127.0.0.1:PORT/ACCOUNT`). Receiving
and deleting needs the role "Storage Queue Data Message Processor" or a SAS with `rp`.

A received message stays invisible for `visibility_timeout` seconds and comes back unless it is
acknowledged (deleted with its pop receipt) in time, so a crash before the acknowledgement
redelivers it. Storage Queues have no long poll: `receive` polls again after a short pause
while nothing has arrived, until `wait_seconds` pass.

Poison messages: Storage Queues have no dead-letter policy of their own. Every Get Messages
raises a message's dequeue count (here `handle.dequeue_count`), and consumers dead-letter on
it: Azure Functions' queue trigger moves a message to `<queue>-poison` once it has failed
`maxDequeueCount` (5) times.
(Event Grid's own dead-lettering covers events it could not write to the queue, not ours.)
This reader never deletes an unparseable message: it comes back each visibility timeout until
its time-to-live ends, unless `max_dequeue=N` is set, in which case a message that is still
unparseable on its Nth delivery is moved to `<queue>-poison` the way Functions does it.
Credentials stay in the SDK client; messages name the queue through `redact_url`. The SDK,
azure-storage-queue, comes with the `events` extra and is imported with this module, which is
itself imported only when a pipeline reads an `azqueue://` queue.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.storage.queue import QueueClient, QueueServiceClient

from dagster_encord.credentials import redact_url
from dagster_encord.errors import (
    AccessDeniedError,
    AcknowledgeError,
    BadCredentialsError,
    QueueNotFoundError,
    SourceError,
)
from dagster_encord.events.base import QueueMessage
from dagster_encord.events.event_grid import EventParseError, parse_blob_events
from dagster_encord.sources.azure import BAD_CREDENTIAL_CODES, azure_credential, is_identity_error
from dagster_encord.sources.diagnostics import translated_errors, unreachable
from dagster_encord.sources.urls import strip_endpoint

logger = logging.getLogger("dagster_encord.events")

MESSAGES_PER_REQUEST = 32  # the most one Get Messages call returns
MAX_VISIBILITY_TIMEOUT = 7 * 24 * 3600  # the service's limit, in seconds
POISON_SUFFIX = "-poison"  # Azure Functions' name for a queue's dead letters
# Deletes have no batch call; a few threads keep 5,000 acknowledgements inside a sensor tick.
# Eight stays under the SDK's pool of ten connections, so connections are reused.
_ACK_THREADS = 8
# 3-63 characters: lowercase letters, digits, single hyphens between them.
_QUEUE_NAME = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")
_SHOWN_FAILURES = 10  # message ids an AcknowledgeError spells out


@dataclass(frozen=True, slots=True)
class AzureReceipt:
    """`QueueMessage.handle` for this reader: what deleting the message needs."""

    message_id: str
    pop_receipt: str
    dequeue_count: int  # deliveries so far, this one included


class AzureQueueEventReader:
    """An `EventReader` over a Storage Queue fed by an Event Grid blob-events subscription."""

    def __init__(
        self,
        url: str,
        *,
        endpoint_url: str | None = None,
        connection_string: str | None = None,
        sas_token: str | None = None,
        account_key: str | None = None,
        credential: Any = None,
        visibility_timeout: int = 120,
        poll_interval: float = 1.0,
        max_dequeue: int | None = None,
        max_attempts: int = 3,
    ) -> None:
        if url.lower().startswith(("https://", "http://")) and "?" in url:
            # A pasted SAS URL: the query is the credential; keep it out of `url` and messages.
            url, _, query = url.partition("?")
            sas_token = sas_token or query
        self.url = redact_url(url)
        self.account, self.queue_name = parse_queue_url(url)
        if not 1 <= visibility_timeout <= MAX_VISIBILITY_TIMEOUT:
            raise SourceError(
                f"visibility_timeout={visibility_timeout} for {self.url}: use 1 to "
                f"{MAX_VISIBILITY_TIMEOUT} seconds, longer than a sensor tick"
            )
        if max_dequeue is not None and max_dequeue < 1:
            raise SourceError(f"max_dequeue={max_dequeue} for {self.url}: use 1 or more")
        self.poison_queue_name = f"{self.queue_name}{POISON_SUFFIX}"
        if max_dequeue is not None and len(self.poison_queue_name) > 63:
            raise SourceError(
                f"max_dequeue needs a queue named {self.poison_queue_name!r}, over Azure's "
                "63-character limit: shorten the queue name or leave max_dequeue unset"
            )
        self.visibility_timeout = visibility_timeout
        self.poll_interval = poll_interval
        self.max_dequeue = max_dequeue
        self.endpoint_url = endpoint_url
        service = self._service(
            url, endpoint_url, connection_string, sas_token, account_key, credential, max_attempts
        )
        self.account_url = service.url.split("?", 1)[0].rstrip("/")
        self._service_client = service
        self.queue: QueueClient = service.get_queue_client(self.queue_name)
        self._poison_queue: QueueClient | None = None

    def _service(
        self,
        url: str,
        endpoint_url: str | None,
        connection_string: str | None,
        sas_token: str | None,
        account_key: str | None,
        credential: Any,
        max_attempts: int,
    ) -> QueueServiceClient:
        connection_string = connection_string or os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
        retry: dict[str, Any] = {
            "retry_total": max(max_attempts - 1, 0),
            "initial_backoff": 1,
            "increment_base": 2,
        }
        if connection_string and not endpoint_url:
            return QueueServiceClient.from_connection_string(connection_string, **retry)
        if endpoint_url:
            account_url = strip_endpoint(endpoint_url)
        elif url.lower().startswith(("https://", "http://")):
            parts = urlsplit(url)
            account_url = f"{parts.scheme}://{parts.netloc}"
        else:
            account_url = f"https://{self.account}.queue.core.windows.net"
        secret = azure_credential(
            self.account, connection_string, sas_token, account_key, credential
        )
        return QueueServiceClient(account_url, credential=secret, **retry)

    def __repr__(self) -> str:
        return f"AzureQueueEventReader({self.url!r}, account_url={self.account_url!r})"

    # --- EventReader ------------------------------------------------------------------------

    def receive(self, max_messages: int, wait_seconds: float) -> list[QueueMessage]:
        """Up to `max_messages`, polling until `wait_seconds` pass only while none has come."""
        if max_messages < 1:
            return []
        deadline = time.monotonic() + max(wait_seconds, 0.0)
        while True:
            received = self._get_messages(max_messages)
            remaining = deadline - time.monotonic()
            if received or remaining <= 0:
                break
            time.sleep(min(self.poll_interval, remaining))
        # A message seen twice in one call (a visibility timeout shorter than the call) keeps
        # its latest pop receipt, the only one that can still delete it.
        latest = {str(item.id): item for item in received}
        return [self._parse(item) for item in latest.values()]

    def acknowledge(self, messages: Sequence[QueueMessage]) -> None:
        """Delete these messages, each with its pop receipt (the service has no batch delete).

        Poison messages are skipped, so a caller may pass a whole batch: they stay for
        dead-lettering. A message already gone counts as acknowledged. Raises AcknowledgeError
        with the ids whose receipt no longer holds, after trying every message (those messages
        come back; the ledger ignores the repeat).
        """
        receipts: dict[str, AzureReceipt] = {}
        for message in messages:
            if message.poison is not None:
                continue
            if not isinstance(message.handle, AzureReceipt):
                raise ValueError(
                    f"message {message.message_id} has no Storage Queue pop receipt: "
                    f"acknowledge only messages received from {self.url}"
                )
            receipts[message.message_id] = message.handle
        if not receipts:
            return
        with ThreadPoolExecutor(min(_ACK_THREADS, len(receipts))) as pool:
            # list() re-raises the first error that concerns the whole queue (credentials, ...).
            reasons = list(pool.map(self._delete, receipts.values()))
        failed = [(mid, why) for mid, why in zip(receipts, reasons, strict=True) if why]
        if failed:
            raise self._acknowledge_error(failed)

    def queue_problem(self) -> str | None:
        """Why this queue cannot be read (missing, access denied, bad credentials, no answer),
        or None. Asked with a peek, which changes nothing and needs only what receiving needs
        (Get Queue Properties would need metadata read, which the Message Processor role lacks)."""
        try:
            with self._translated("peek at"):
                self.queue.peek_messages(max_messages=1)
        except SourceError as error:
            return str(error)
        return None

    def close(self) -> None:
        for client in (self.queue, self._poison_queue, self._service_client):
            if client is not None:
                client.close()

    # --- internals --------------------------------------------------------------------------

    def _get_messages(self, max_messages: int) -> list[Any]:
        with self._translated("receive messages from"):
            return list(
                self.queue.receive_messages(
                    # The SDK refuses a page larger than max_messages.
                    messages_per_page=min(MESSAGES_PER_REQUEST, max_messages),
                    visibility_timeout=self.visibility_timeout,
                    max_messages=max_messages,
                )
            )

    def _parse(self, item: Any) -> QueueMessage:
        receipt = AzureReceipt(str(item.id), str(item.pop_receipt), int(item.dequeue_count))
        try:
            events = parse_blob_events(item.content or "")
        except EventParseError as error:
            reason = str(error)
            due = self.max_dequeue is not None and receipt.dequeue_count >= self.max_dequeue
            if due and self._move_to_poison_queue(item, receipt, reason):
                reason += f" (moved to {self.poison_queue_name})"
            return QueueMessage(receipt.message_id, poison=reason, handle=receipt)
        return QueueMessage(receipt.message_id, events, handle=receipt)

    def _delete(self, receipt: AzureReceipt) -> str | None:
        """None once the message is gone, else the service's reason this receipt did not
        delete it (PopReceiptMismatch: the message came back and was received again)."""
        with self._translated("delete a message from"):
            try:
                self.queue.delete_message(receipt.message_id, receipt.pop_receipt)
            except HttpResponseError as error:
                code = _error_code(error)
                if code == "MessageNotFound":
                    return None  # deleted already: acknowledged either way
                if code == "PopReceiptMismatch" or error.status_code == 400:
                    return code or "400"
                raise
        return None

    def _acknowledge_error(self, failed: list[tuple[str, str]]) -> AcknowledgeError:
        shown = ", ".join(f"{message_id} ({code})" for message_id, code in failed[:_SHOWN_FAILURES])
        more = f" and {len(failed) - _SHOWN_FAILURES} more" if len(failed) > _SHOWN_FAILURES else ""
        return AcknowledgeError(
            f"the Storage Queue did not delete {len(failed)} message(s) from {self.url}: "
            f"{shown}{more}. They will be received again and recorded once (the ledger ignores "
            "repeats); a PopReceiptMismatch means the visibility timeout "
            f"({self.visibility_timeout} s) ran out before the acknowledgement: raise the "
            "reader's visibility_timeout above the sensor's tick",
            [message_id for message_id, _ in failed],
        )

    def _move_to_poison_queue(self, item: Any, receipt: AzureReceipt, reason: str) -> bool:
        """Copy, then delete: a crash in between leaves a duplicate in the poison queue, never a
        lost message. A failure is logged and leaves the message where it is, so one message
        cannot block the batch."""
        if self._poison_queue is None:
            self._poison_queue = self._service_client.get_queue_client(self.poison_queue_name)
        poison_queue = self._poison_queue
        try:
            with self._translated("move a poison message to", self.poison_queue_name):
                try:
                    poison_queue.send_message(item.content)
                except ResourceNotFoundError:
                    with suppress(ResourceExistsError):  # another reader created it meanwhile
                        poison_queue.create_queue()
                    poison_queue.send_message(item.content)
            not_deleted = self._delete(receipt)
        except SourceError as error:
            logger.warning("queue message %s stays in %s: %s", receipt.message_id, self.url, error)
            return False
        if not_deleted:  # copied, but redelivered meanwhile: the next move repeats the copy
            return False
        logger.warning(
            "queue message %s in %s is unparseable after %d deliveries (%s): moved to %s",
            receipt.message_id,
            self.url,
            receipt.dequeue_count,
            reason,
            self.poison_queue_name,
        )
        return True

    def _translated(
        self, action: str, queue_name: str | None = None
    ) -> AbstractContextManager[None]:
        """Map SDK failures inside the block to the package's errors."""
        name = queue_name or self.queue_name
        where = f"{redact_url(self.account_url)}/{name}"
        return translated_errors(where, None, partial(self._raise_translated, action, name))

    def _raise_translated(
        self, action: str, queue_name: str, where: str, _key: str | None, error: Exception
    ) -> None:
        """Raise the package error for an SDK `error`, if it is one we recognise."""
        code = _error_code(error)
        if code == "QueueNotFound" or (isinstance(error, ResourceNotFoundError) and not code):
            raise QueueNotFoundError(
                f"Azure Storage queue {where} does not exist (trying to {action} it): create it "
                f"(az storage queue create --name {queue_name} --account-name {self.account}) "
                "and point the Event Grid subscription at it, or check the queue URL"
            ) from None
        rejected = "failed to authenticate" in str(error).lower()  # Azurite's wording
        if code in BAD_CREDENTIAL_CODES or rejected or is_identity_error(error):
            raise BadCredentialsError(
                f"Azure rejected the credentials for queue {where} "
                f"({code or type(error).__name__}): check the connection string, account key or "
                "SAS token (and that it has not expired), or `az login` for DefaultAzureCredential"
            ) from None
        if isinstance(error, ClientAuthenticationError) or (
            isinstance(error, HttpResponseError) and error.status_code == 403
        ):
            raise AccessDeniedError(
                f"access denied to queue {where} ({code or 403}) trying to {action} it: give the "
                "identity the role 'Storage Queue Data Message Processor', or a SAS with "
                "permissions rp (max_dequeue also needs add, and create for the poison queue)"
            ) from None
        if isinstance(error, ServiceRequestError):
            raise unreachable(where, self.account_url, type(error).__name__) from None
        if isinstance(error, HttpResponseError):
            raise SourceError(
                f"Azure Storage queue {where}: could not {action} it ({code or error.status_code})"
            ) from None


def _error_code(error: BaseException) -> str:
    raw_code = getattr(error, "error_code", None)
    return str(getattr(raw_code, "value", raw_code) or "")


def queue_url_problem(url: str) -> str | None:
    """Why `url` is not a Storage Queue URL (for configuration checks, no network), or None."""
    try:
        parse_queue_url(url)
    except SourceError as error:
        return str(error)
    return None


def parse_queue_url(url: str) -> tuple[str, str]:
    """(account, queue) from `azqueue://ACCOUNT/QUEUE` or `https://ACCOUNT.queue.../QUEUE`."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    host, _, queue = rest.partition("/")
    if sep and scheme == "azqueue":
        account = host
    elif sep and scheme in ("https", "http") and ".queue." in host:
        account = host.split(".", 1)[0]
    else:
        raise SourceError(
            f"{redact_url(url)!r} is not an Azure Storage queue URL: use azqueue://ACCOUNT/QUEUE "
            "or https://ACCOUNT.queue.core.windows.net/QUEUE"
        )
    queue = queue.rstrip("/")
    if not account or not queue:
        raise SourceError(
            f"{redact_url(url)!r} names no account or queue: use azqueue://ACCOUNT/QUEUE"
        )
    if not _QUEUE_NAME.fullmatch(queue):
        raise SourceError(
            f"{queue!r} in {redact_url(url)!r} is not a valid queue name: 3-63 lowercase letters, "
            "digits and single hyphens, starting and ending with a letter or digit"
        )
    return account, queue
