"""GCS bucket notifications from a Pub/Sub pull subscription: `pubsub://PROJECT/subscriptions/SUB`
(or `projects/PROJECT/subscriptions/SUB`). The notification format is read in
`events/gcs_notifications.py`; this module owns the Pub/Sub side.

Credentials: a service-account JSON file (`credentials_file`), else Application Default
Credentials, as for the GCS source.

Endpoint: `endpoint_url` when given, else the `PUBSUB_EMULATOR_HOST` variable, else
pubsub.googleapis.com. `http://HOST:PORT` or a bare `HOST:PORT` (the emulator's form) is an
emulator: plaintext gRPC without credentials, what the client library itself does for
PUBSUB_EMULATOR_HOST. `https://HOST` is a real endpoint (regional, Private Service Connect) over
TLS with the credentials.

Poison messages: a message that is not a GCS notification comes back with `poison` set, is
logged with its id, and is never acknowledged, not even by `acknowledge`. Instead `receive` nacks
it (ModifyAckDeadline 0) once its pulls are done, so Pub/Sub redelivers it at once rather than
after the ack deadline: each delivery counts toward the subscription's dead-letter policy
(max_delivery_attempts), which then moves it to the dead-letter topic, in a few ticks rather
than a few ack deadlines. Nacking after the pulls keeps one `receive` from meeting it twice, and
a reader returns a poison message once: delivered to it again, it is left leased until the ack
deadline and not returned, so a caller that receives until the queue is empty does not spin on
it. Without a dead-letter policy a poison message comes back until Pub/Sub's retention drops it;
give the subscription one (and the Pub/Sub service agent the publisher role on the dead-letter
topic and the subscriber role on the subscription).

Ack deadline: a message not acknowledged within the subscription's ack deadline (10 s unless set)
is delivered again. If a tick may outlast it, pass `ack_deadline_seconds` (up to 600) to extend
each received message's lease as it is received; a redelivery is harmless (the ledger's diff is
idempotent) but repeats work.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import urlsplit

from dagster_encord.errors import (
    AccessDeniedError,
    AcknowledgeError,
    BadCredentialsError,
    QueueNotFoundError,
    SourceError,
)
from dagster_encord.events.base import QueueMessage
from dagster_encord.events.gcs_notifications import parse_gcs_notification
from dagster_encord.sources.diagnostics import translated_errors, unreachable
from dagster_encord.sources.gcp_auth import no_default_credentials, service_account_credentials

try:
    import google.auth.exceptions
    import grpc
    from google.api_core import exceptions as gexc
    from google.api_core.retry import Retry
    from google.cloud import pubsub_v1
    from google.pubsub_v1.services.subscriber.transports.grpc import SubscriberGrpcTransport
except ImportError as error:  # the events extra is optional
    raise ImportError(
        "reading GCS notifications from Pub/Sub needs google-cloud-pubsub, which is not "
        "installed; install it with: pip install 'dagster-encord[events]'"
    ) from error

log = logging.getLogger(__name__)

PULL_LIMIT = 1000  # the most messages one Pull returns
ACK_BATCH = 1000  # ack ids per request, as the client library batches them
MIN_PULL_SECONDS = 1.0  # even with messages waiting a Pull needs a round trip; 0 would always fail
FOLLOW_UP_SECONDS = 1.0  # later Pulls of one receive: waiting messages come back well within it
MAX_ACK_DEADLINE = 600  # Pub/Sub's limit for ModifyAckDeadline
FORMS = "pubsub://PROJECT/subscriptions/SUBSCRIPTION or projects/PROJECT/subscriptions/SUBSCRIPTION"
_DEFAULT_HOST = "pubsub.googleapis.com"
# The codes the client library itself retries a Pull on.
_TRANSIENT = (gexc.Aborted, gexc.InternalServerError, gexc.ServiceUnavailable, gexc.Unknown)
# gRPC reports failing credentials as UNAVAILABLE with this text: not worth retrying.
_AUTH_FAILURE = "Getting metadata from plugin failed"


def parse_subscription_url(url: str) -> tuple[str, str]:
    """`(project, subscription)` from either accepted form; SourceError names the forms."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() != "pubsub":
        raise SourceError(f"{url!r} is not a Pub/Sub subscription: use {FORMS}")
    parts = (rest if sep else url).strip("/").split("/")
    if sep and len(parts) == 3:
        parts = ["projects", *parts]  # pubsub://PROJECT/subscriptions/SUB
    if len(parts) != 4 or parts[0] != "projects" or parts[2] != "subscriptions" or "" in parts:
        raise SourceError(f"{url!r} does not name a Pub/Sub subscription: use {FORMS}")
    return parts[1], parts[3]


def emulator_target(endpoint_url: str | None) -> str | None:
    """`HOST:PORT` for a plaintext emulator endpoint; None for an https endpoint or none."""
    if not endpoint_url:
        return os.environ.get("PUBSUB_EMULATOR_HOST") or None
    if "://" not in endpoint_url:
        return endpoint_url.strip("/")
    parts = urlsplit(endpoint_url)
    if parts.scheme == "https":
        return None
    if parts.scheme != "http" or not parts.hostname or parts.port is None:
        raise SourceError(
            f"endpoint_url {endpoint_url!r} for Pub/Sub: use http://HOST:PORT or HOST:PORT for "
            "an emulator, https://HOST for a Pub/Sub endpoint"
        )
    return parts.netloc


class PubSubEventReader:
    """GCS notifications on a Pub/Sub pull subscription (an `EventReader`).

    Options: `credentials_file` (service-account JSON; default ADC), `endpoint_url` (see the
    module), `ack_deadline_seconds` (extend each received message's lease to this; default the
    subscription's deadline), `retry_deadline` (seconds to retry transient failures such as
    UNAVAILABLE before raising). The client is made on first use.
    """

    def __init__(
        self,
        url: str,
        *,
        credentials_file: str | None = None,
        endpoint_url: str | None = None,
        ack_deadline_seconds: int | None = None,
        retry_deadline: float = 30.0,
    ) -> None:
        self.project, self.subscription = parse_subscription_url(url)
        self.subscription_path = f"projects/{self.project}/subscriptions/{self.subscription}"
        self.url = f"pubsub://{self.project}/subscriptions/{self.subscription}"
        if ack_deadline_seconds is not None and not 1 <= ack_deadline_seconds <= MAX_ACK_DEADLINE:
            raise SourceError(
                f"ack_deadline_seconds={ack_deadline_seconds} for {self.url}: "
                f"use 1 to {MAX_ACK_DEADLINE} seconds"
            )
        self.ack_deadline_seconds = ack_deadline_seconds
        self.credentials_file = credentials_file
        self.emulator_host = emulator_target(endpoint_url)
        self.endpoint = self.emulator_host or _https_host(endpoint_url) or _DEFAULT_HOST
        self._timeout = min(retry_deadline, 60.0)
        self._retry = Retry(
            predicate=_is_transient,
            initial=0.1,
            maximum=2.0,
            multiplier=1.3,
            timeout=retry_deadline,
        )
        self._client: pubsub_v1.SubscriberClient | None = None
        self._poison_returned: set[str] = set()  # message ids (see the module on poison)

    def __repr__(self) -> str:
        return f"PubSubEventReader({self.url!r}, endpoint={self.endpoint!r})"

    @property
    def client(self) -> pubsub_v1.SubscriberClient:
        if self._client is None:
            self._client = pubsub_v1.SubscriberClient(transport=self._transport())
        return self._client

    def _transport(self) -> SubscriberGrpcTransport:
        if self.emulator_host:
            channel = grpc.insecure_channel(self.emulator_host)
            return SubscriberGrpcTransport(host=self.emulator_host, channel=channel)
        credentials = (
            service_account_credentials(self.credentials_file, self.url)
            if self.credentials_file
            else None
        )
        try:
            return SubscriberGrpcTransport(
                host=self.endpoint, credentials=credentials, always_use_jwt_access=True
            )
        except google.auth.exceptions.DefaultCredentialsError:
            raise no_default_credentials(self.url) from None

    # --- receiving ----------------------------------------------------------------------------

    def receive(self, max_messages: int, wait_seconds: float) -> list[QueueMessage]:
        """Up to `max_messages`: the first Pull waits up to `wait_seconds` (at least 1 s), later
        ones (1 s each) follow while messages keep coming; one Pull returns at most 1,000."""
        # By message id: one delivered twice (its lease ran out meanwhile) keeps its newest ack id.
        received: dict[str, Any] = {}
        timeout = max(wait_seconds, MIN_PULL_SECONDS)
        while len(received) < max_messages:
            batch = self._pull(min(max_messages - len(received), PULL_LIMIT), timeout)
            if self.ack_deadline_seconds is not None:  # before the next Pull can see them again
                leased = [item.ack_id for item in batch]
                self._modify_deadlines(leased, self.ack_deadline_seconds, "extend the leases")
            before = len(received)
            received.update((item.message.message_id, item) for item in batch)
            if len(received) == before:
                break  # empty, or only repeats
            timeout = FOLLOW_UP_SECONDS
        messages: list[QueueMessage] = []
        nack: list[str] = []
        for item in received.values():
            message = self._parse(item)
            if message.poison is not None:
                if message.message_id in self._poison_returned:
                    continue  # returned before: leased, so this reader's next Pull skips it
                self._poison_returned.add(message.message_id)
                nack.append(item.ack_id)
            messages.append(message)
        self._modify_deadlines(nack, 0, "nack the poison messages")
        return messages

    def _parse(self, item: Any) -> QueueMessage:
        message = item.message
        try:
            events = parse_gcs_notification(
                dict(message.attributes), bytes(message.data), message.publish_time or None
            )
        except ValueError as error:
            log.warning(
                "Pub/Sub message %s on %s is not a GCS notification (%s); nacked for the "
                "subscription's dead-letter policy (delivery attempt %s)",
                message.message_id,
                self.url,
                error,
                item.delivery_attempt or "unknown: the subscription has no dead-letter policy",
            )
            return QueueMessage(message.message_id, poison=str(error), handle=item.ack_id)
        return QueueMessage(message.message_id, events=events, handle=item.ack_id)

    def _pull(self, max_messages: int, timeout: float) -> list[Any]:
        request = {"subscription": self.subscription_path, "max_messages": max_messages}
        with self._translated("pull from"):
            try:
                response = self.client.pull(request=request, timeout=timeout, retry=self._retry)
            except gexc.DeadlineExceeded:
                return []  # nothing came within the timeout: Pub/Sub holds an empty Pull open
        return list(response.received_messages)

    def _modify_deadlines(self, ack_ids: list[str], seconds: int, what: str) -> None:
        # Best effort: if this fails the messages come back after the ack deadline anyway.
        if not ack_ids:
            return
        try:
            self._in_batches(ack_ids, self._modify_batch(seconds), f"{what} on")
        except SourceError as error:
            log.warning("could not %s on %s: %s", what, self.url, error)

    def _modify_batch(self, seconds: int) -> Callable[[list[str]], None]:
        def modify(ack_ids: list[str]) -> None:
            request = {
                "subscription": self.subscription_path,
                "ack_ids": ack_ids,
                "ack_deadline_seconds": seconds,
            }
            self.client.modify_ack_deadline(
                request=request, timeout=self._timeout, retry=self._retry
            )

        return modify

    # --- acknowledging ------------------------------------------------------------------------

    def acknowledge(self, messages: Sequence[QueueMessage]) -> None:
        """Acknowledge these messages by ack id, 1,000 per request. Poison messages are skipped,
        so a caller may pass a whole batch (see the module).

        Raises AcknowledgeError naming the messages of the requests Pub/Sub refused (all of a
        refused request's messages, though the others in it may have been taken), after trying
        every request. Only a subscription with exactly-once delivery refuses an ack id (one
        whose lease ran out); otherwise a late acknowledgement is taken or silently lost, and
        the message comes back to be recorded once more (the ledger ignores the repeat).
        """
        ack_ids: list[str] = []
        ids_by_ack_id: dict[str, str] = {}
        for message in messages:
            if message.poison is not None:
                continue
            if not isinstance(message.handle, str) or not message.handle:
                raise ValueError(
                    f"message {message.message_id} has no Pub/Sub ack id: acknowledge only "
                    f"messages received from {self.url}"
                )
            ack_ids.append(message.handle)
            ids_by_ack_id[message.handle] = message.message_id
        refused: list[str] = []
        reason = ""
        for start in range(0, len(ack_ids), ACK_BATCH):
            batch = ack_ids[start : start + ACK_BATCH]
            request = {"subscription": self.subscription_path, "ack_ids": batch}
            with self._translated("acknowledge messages on"):
                try:
                    self.client.acknowledge(
                        request=request, timeout=self._timeout, retry=self._retry
                    )
                except (gexc.InvalidArgument, gexc.FailedPrecondition) as error:
                    refused += [ids_by_ack_id[ack_id] for ack_id in batch]
                    reason = _status(error)
        if refused:
            raise self._acknowledge_error(refused, reason)

    def _acknowledge_error(self, refused: list[str], reason: str) -> AcknowledgeError:
        more = f" and {len(refused) - 10} more" if len(refused) > 10 else ""
        shown = ", ".join(refused[:10]) + more
        return AcknowledgeError(
            f"Pub/Sub refused to acknowledge {len(refused)} message(s) on {self.url} ({reason}): "
            f"{shown}. They will be delivered again and recorded once (the ledger ignores "
            "repeats); with exactly-once delivery an ack id expires with its lease: raise the "
            "subscription's ack deadline, or ack_deadline_seconds, above the sensor's tick",
            refused,
        )

    def _in_batches(self, ack_ids: list[str], call: Callable[[list[str]], None], what: str) -> None:
        for start in range(0, len(ack_ids), ACK_BATCH):
            with self._translated(what):
                call(ack_ids[start : start + ACK_BATCH])

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # --- errors -------------------------------------------------------------------------------

    def _translated(self, what: str) -> AbstractContextManager[None]:
        where = f"{what} Pub/Sub subscription {self.subscription_path}"
        return translated_errors(where, None, self._raise_translated)

    def _raise_translated(self, where: str, _key: str | None, error: Exception) -> None:
        """Raise the package error for an SDK `error`, if it is one we recognise."""
        if isinstance(error, gexc.RetryError) and error.cause is not None:
            error = error.cause  # retried until retry_deadline: report the last failure
        path = self.subscription_path
        if isinstance(error, gexc.NotFound):
            raise QueueNotFoundError(
                f"Pub/Sub subscription {path} does not exist (endpoint {self.endpoint}): create "
                f"it (gcloud pubsub subscriptions create {self.subscription} --topic=TOPIC "
                f"--project={self.project}) or fix the events queue URL"
            ) from None
        if isinstance(error, gexc.PermissionDenied):
            raise AccessDeniedError(
                f"access denied trying to {where}: grant the credentials roles/pubsub.subscriber "
                f"(pubsub.subscriptions.consume) on subscription {path}"
            ) from None
        if isinstance(error, gexc.Unauthenticated | google.auth.exceptions.GoogleAuthError) or (
            _AUTH_FAILURE in str(error)
        ):
            raise BadCredentialsError(
                f"Pub/Sub rejected the credentials trying to {where}: renew them with `gcloud auth "
                "application-default login` or check the service-account key file"
            ) from None
        if isinstance(error, gexc.ServiceUnavailable):
            raise unreachable(where, self.endpoint, "UNAVAILABLE") from None
        if isinstance(error, gexc.GoogleAPICallError):
            raise SourceError(
                f"Pub/Sub refused to {where} ({_status(error)}): check the "
                "subscription name and that it is a pull subscription"
            ) from None


def _status(error: gexc.GoogleAPICallError) -> str:
    code = error.grpc_status_code
    return f"{code.name if code else error.code}: {error.message}"


def _https_host(endpoint_url: str | None) -> str | None:
    return urlsplit(endpoint_url).netloc if endpoint_url else None


def _is_transient(error: Exception) -> bool:
    return isinstance(error, _TRANSIENT) and _AUTH_FAILURE not in str(error)
