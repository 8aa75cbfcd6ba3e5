"""An in-memory Pub/Sub gRPC server for the event-reader tests.

Why it exists: no Pub/Sub emulator can be installed here (the official one needs gcloud), yet the
reader must be tested through the real `google-cloud-pubsub` client. That package ships no
servicers, so grpc generic handlers serve the methods the client calls, with its own message
classes (`google.pubsub_v1.types`); clients find it through PUBSUB_EMULATOR_HOST, as they would
gcloud's emulator.

Served: Publisher.CreateTopic / Publish; Subscriber.CreateSubscription / Pull / Acknowledge /
ModifyAckDeadline. A Pull waits for messages until its gRPC deadline (no return_immediately)
and returns at most 1,000. A delivery leases the message for the ack deadline, after which (or
after ModifyAckDeadline 0) it is delivered again under a new ack id. With a dead-letter policy
the delivery after max_delivery_attempts forwards it to the dead-letter topic instead, with the
service's CloudPubSubDeadLetterSource* attributes.

With exactly-once delivery, an Acknowledge naming an ack id no longer held (a later delivery has
another) fails INVALID_ARGUMENT after acknowledging the others; the service adds per-id ErrorInfo.

Deviations, on purpose: ack deadlines of 1-9 s are accepted (the service's minimum is 10) so a
redelivery test takes a second; no ordering keys, filters, push or StreamingPull; `deny()` makes
a subscription answer PERMISSION_DENIED, for the error tests.

The fixtures are in `tests.emulators.pubsub`.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf import empty_pb2
from google.pubsub_v1.types import pubsub

PULL_LIMIT = 1000
_HOLD_SECONDS = 30.0  # an empty Pull without a deadline returns after this
_NOT_AUTHORIZED = "User not authorized to perform this action."  # the service's words
# gRPC method -> (service, request type, response type); each is served by the method's namesake.
_METHODS: dict[str, tuple[str, Any, Any]] = {
    "CreateTopic": ("Publisher", pubsub.Topic, pubsub.Topic),
    "Publish": ("Publisher", pubsub.PublishRequest, pubsub.PublishResponse),
    "CreateSubscription": ("Subscriber", pubsub.Subscription, pubsub.Subscription),
    "Pull": ("Subscriber", pubsub.PullRequest, pubsub.PullResponse),
    "Acknowledge": ("Subscriber", pubsub.AcknowledgeRequest, empty_pb2.Empty),
    "ModifyAckDeadline": ("Subscriber", pubsub.ModifyAckDeadlineRequest, empty_pb2.Empty),
}


@dataclass
class _Pending:
    message: pubsub.PubsubMessage
    attempts: int = 0
    ack_id: str = ""
    leased_until: float = 0.0  # time.monotonic(); deliverable once it has passed


@dataclass
class _Subscription:
    spec: pubsub.Subscription
    pending: dict[str, _Pending] = field(default_factory=dict)  # by message id, oldest first


class PubSubEmulator:
    """The server, bound to 127.0.0.1 on a free port; `host` is what PUBSUB_EMULATOR_HOST takes."""

    def __init__(self) -> None:
        self._topics: dict[str, list[str]] = {}  # topic -> its subscriptions
        self._subscriptions: dict[str, _Subscription] = {}
        self._denied: set[str] = set()
        self._message_ids = itertools.count(1)
        self._changed = threading.Condition()
        self._server = grpc.server(ThreadPoolExecutor(max_workers=16))
        services: dict[str, dict[str, grpc.RpcMethodHandler]] = {}
        for method, (service, request_type, response_type) in _METHODS.items():
            services.setdefault(f"google.pubsub.v1.{service}", {})[method] = (
                grpc.unary_unary_rpc_method_handler(
                    getattr(self, method),
                    request_deserializer=request_type.deserialize,
                    response_serializer=getattr(response_type, "serialize", None)
                    or response_type.SerializeToString,
                )
            )
        self._server.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler(name, m) for name, m in services.items()]
        )
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self.host = f"127.0.0.1:{self.port}"
        self._server.start()

    def stop(self) -> None:
        self._server.stop(grace=None)

    def deny(self, subscription: str) -> None:
        """Answer PERMISSION_DENIED for this subscription path from now on."""
        self._denied.add(subscription)

    def backlog(self, subscription: str) -> int:
        """Messages not yet acknowledged (leased or not)."""
        with self._changed:
            return len(self._subscriptions[subscription].pending)

    # --- Publisher ------------------------------------------------------------------------------

    def CreateTopic(self, topic: pubsub.Topic, context: grpc.ServicerContext) -> pubsub.Topic:
        with self._changed:
            if topic.name in self._topics:
                context.abort(grpc.StatusCode.ALREADY_EXISTS, "Topic already exists")
            self._topics[topic.name] = []
        return topic

    def Publish(
        self, request: pubsub.PublishRequest, context: grpc.ServicerContext
    ) -> pubsub.PublishResponse:
        if any(not m.data and not m.attributes for m in request.messages):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "A message needs data or attributes")
        with self._changed:
            self._topic(request.topic, context)
            ids = [
                self._deliver(request.topic, m.data, dict(m.attributes)) for m in request.messages
            ]
        return pubsub.PublishResponse(message_ids=ids)

    def _deliver(self, topic: str, data: bytes, attributes: dict[str, str]) -> str:
        message_id = str(next(self._message_ids))
        now = datetime.now(UTC)
        for name in self._topics[topic]:
            message = pubsub.PubsubMessage(
                data=data, attributes=attributes, message_id=message_id, publish_time=now
            )
            self._subscriptions[name].pending[message_id] = _Pending(message)
        self._changed.notify_all()
        return message_id

    # --- Subscriber -----------------------------------------------------------------------------

    def CreateSubscription(
        self, spec: pubsub.Subscription, context: grpc.ServicerContext
    ) -> pubsub.Subscription:
        with self._changed:
            self._topic(spec.topic, context)
            if spec.name in self._subscriptions:
                context.abort(grpc.StatusCode.ALREADY_EXISTS, "Subscription already exists")
            spec.ack_deadline_seconds = spec.ack_deadline_seconds or 10
            if not 1 <= spec.ack_deadline_seconds <= 600:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "ack_deadline_seconds: 10-600")
            policy = spec.dead_letter_policy
            if policy.dead_letter_topic:
                self._topic(policy.dead_letter_topic, context)
                policy.max_delivery_attempts = policy.max_delivery_attempts or 5
                if not 5 <= policy.max_delivery_attempts <= 100:
                    context.abort(grpc.StatusCode.INVALID_ARGUMENT, "max_delivery_attempts: 5-100")
            self._subscriptions[spec.name] = _Subscription(spec)
            self._topics[spec.topic].append(spec.name)
        return spec

    def Pull(
        self, request: pubsub.PullRequest, context: grpc.ServicerContext
    ) -> pubsub.PullResponse:
        if request.max_messages <= 0:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "max_messages must be positive")
        remaining = context.time_remaining()
        give_up = time.monotonic() + (_HOLD_SECONDS if remaining is None else remaining)
        with self._changed:
            subscription = self._subscription(request.subscription, context)
            while context.is_active() and time.monotonic() < give_up:
                received = self._lease(subscription, min(request.max_messages, PULL_LIMIT))
                if received or request.return_immediately:
                    return pubsub.PullResponse(received_messages=received)
                self._changed.wait(timeout=0.05)  # also wakes for leases running out
        return pubsub.PullResponse()

    def _lease(self, subscription: _Subscription, limit: int) -> list[pubsub.ReceivedMessage]:
        now = time.monotonic()
        policy = subscription.spec.dead_letter_policy
        received: list[pubsub.ReceivedMessage] = []
        for message_id, pending in list(subscription.pending.items()):
            if len(received) == limit:
                break
            if pending.leased_until > now:
                continue
            pending.attempts += 1
            if policy.dead_letter_topic and pending.attempts > policy.max_delivery_attempts:
                del subscription.pending[message_id]
                self._dead_letter(subscription, pending)
                continue
            pending.ack_id = f"{message_id}:{pending.attempts}:{uuid.uuid4().hex[:8]}"
            pending.leased_until = now + subscription.spec.ack_deadline_seconds
            attempt = pending.attempts if policy.dead_letter_topic else 0
            received.append(
                pubsub.ReceivedMessage(
                    ack_id=pending.ack_id, message=pending.message, delivery_attempt=attempt
                )
            )
        return received

    def _dead_letter(self, subscription: _Subscription, pending: _Pending) -> None:
        project = subscription.spec.name.split("/")[1]
        attributes = {
            **pending.message.attributes,
            "CloudPubSubDeadLetterSourceDeliveryCount": str(pending.attempts - 1),
            "CloudPubSubDeadLetterSourceSubscription": subscription.spec.name.rsplit("/")[-1],
            "CloudPubSubDeadLetterSourceSubscriptionProject": project,
        }
        topic = subscription.spec.dead_letter_policy.dead_letter_topic
        self._deliver(topic, pending.message.data, attributes)

    def Acknowledge(
        self, request: pubsub.AcknowledgeRequest, context: grpc.ServicerContext
    ) -> empty_pb2.Empty:
        with self._changed:
            subscription = self._subscription(request.subscription, context)
            found = self._by_ack_id(subscription, request.ack_ids)
            for pending in found:
                del subscription.pending[pending.message.message_id]
        # Only with exactly-once delivery does the service report ack ids it no longer holds.
        if subscription.spec.enable_exactly_once_delivery and len(found) < len(request.ack_ids):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Some ack ids were invalid.")
        return empty_pb2.Empty()

    def ModifyAckDeadline(
        self, request: pubsub.ModifyAckDeadlineRequest, context: grpc.ServicerContext
    ) -> empty_pb2.Empty:
        if not 0 <= request.ack_deadline_seconds <= 600:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "ack_deadline_seconds: 0-600")
        with self._changed:
            subscription = self._subscription(request.subscription, context)
            for pending in self._by_ack_id(subscription, request.ack_ids):
                pending.leased_until = time.monotonic() + request.ack_deadline_seconds
            self._changed.notify_all()
        return empty_pb2.Empty()

    @staticmethod
    def _by_ack_id(subscription: _Subscription, ack_ids: Any) -> list[_Pending]:
        """The messages these ack ids still lease; a stale id (an earlier delivery) matches none."""
        found = (subscription.pending.get(ack_id.split(":")[0]) for ack_id in ack_ids)
        return [p for p, ack_id in zip(found, ack_ids, strict=True) if p and p.ack_id == ack_id]

    def _topic(self, name: str, context: grpc.ServicerContext) -> None:
        if name not in self._topics:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Resource not found (resource={name}).")

    def _subscription(self, name: str, context: grpc.ServicerContext) -> _Subscription:
        if name in self._denied:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, _NOT_AUTHORIZED)
        if name not in self._subscriptions:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Resource not found (resource={name}).")
        return self._subscriptions[name]
