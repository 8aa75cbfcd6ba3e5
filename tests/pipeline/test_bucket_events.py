"""Event-triggered ingestion end to end: moto's S3 delivers its notifications to a real SQS
queue, the `bucket_events` sensor records them, plans and requests chunk runs, then
acknowledges; the reconcile job's complete listing catches what events missed."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from dagster_encord.ledger import FileState, Ledger
from dagster_encord.quickstart.sample_media import png
from tests.emulators.azure import AzuriteQueue
from tests.emulators.pubsub import PubSubQueue
from tests.events.azure_rig import send, stored_count
from tests.events.event_grid_samples import blob_event, message_body
from tests.events.gcs_messages import notification, publish
from tests.pipeline.harness import Harness


@pytest.fixture(autouse=True)
def every_call_routed(harness: Harness) -> Iterator[None]:
    yield
    assert [k for k in harness.emulator.counters() if k.startswith("unrouted")] == []


@pytest.fixture
def queue_url(harness: Harness) -> str:
    """A queue the harness's bucket notifies of creations and removals (visibility 1 s, so an
    unacknowledged message comes back at once)."""
    sqs = boto3.client("sqs", endpoint_url=harness.endpoint)
    url = sqs.create_queue(
        QueueName=f"events-{uuid.uuid4().hex[:10]}", Attributes={"VisibilityTimeout": "1"}
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    boto3.client("s3", endpoint_url=harness.endpoint).put_bucket_notification_configuration(
        Bucket=harness.bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": arn["QueueArn"],
                    "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
                }
            ]
        },
    )
    return str(url)


def configured(harness: Harness, queue_url: str) -> dict[str, Any]:
    return {
        "events": {
            "queue": queue_url,
            "options": {"endpoint_url": harness.endpoint},
            "wait_seconds": 1,
        },
        "reconcile": {"schedule": "0 3 * * *"},
    }


def urls_in_folder(harness: Harness) -> list[str]:
    return sorted(item.url or "" for item in harness.emulator.items(harness.folder_uuid))


def ledger(harness: Harness) -> Ledger:
    return Ledger(harness.ledger_url, pipeline=harness.name)


def tick_until(harness: Harness, defs: Any, done: Any, what: str, timeout: float = 30.0) -> None:
    """Tick `bucket_events` (each receive long-polls up to 1 s) until `done()`."""
    driver = harness.driver(defs)
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        for run in driver.tick("bucket_events"):
            assert run.success


def test_events_register_files_once_and_deletions_and_reconcile_catch_up(
    harness: Harness, queue_url: str
) -> None:
    defs = harness.defs(**configured(harness, queue_url))
    sensors = {s.name for s in defs.get_repository_def().sensor_defs}
    assert "cams__bucket_events" in sensors and "cams__new_objects" not in sensors
    harness.put({f"cams/{n}.png": png(4, 4, (n, 1, 1)) for n in range(5)})
    tick_until(harness, defs, lambda: len(urls_in_folder(harness)) == 5, "5 registrations")
    assert len(set(urls_in_folder(harness))) == 5

    # An object removed: the event marks it deleted (on_delete: keep leaves Encord alone).
    s3 = boto3.client("s3", endpoint_url=harness.endpoint)
    s3.delete_object(Bucket=harness.bucket, Key="cams/0.png")
    states = lambda: {r.key: r.state for r in ledger(harness).files_in_state(*FileState)}  # noqa: E731
    tick_until(harness, defs, lambda: states()["cams/0.png"] is FileState.DELETED, "deletion")

    # Lost events: the queue is purged before any tick sees them.
    harness.put({"cams/lost.png": png(4, 4, (9, 9, 9))})
    s3.delete_object(Bucket=harness.bucket, Key="cams/1.png")
    boto3.client("sqs", endpoint_url=harness.endpoint).purge_queue(QueueUrl=queue_url)
    driver = harness.driver(defs)
    reconcile = defs.resolve_job_def("cams__reconcile").execute_in_process(
        instance=harness.instance, resources=dict(defs.resources or {})
    )
    assert reconcile.success
    (event,) = reconcile.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["missed_by_events"].value == 2
    assert (metadata["new_files"].value, metadata["deleted_files"].value) == (1, 1)
    tick_until(harness, defs, lambda: "lost.png" in " ".join(urls_in_folder(harness)), "lost")
    assert len(urls_in_folder(harness)) == len(set(urls_in_folder(harness))) == 6
    assert driver.instance is harness.instance
    assert harness.emulator.counters().get("duplicates", 0) == 0


def test_poison_is_left_to_the_queue_and_unacknowledged_events_are_redelivered_once(
    harness: Harness, queue_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    defs = harness.defs(**configured(harness, queue_url))
    boto3.client("sqs", endpoint_url=harness.endpoint).send_message(
        QueueUrl=queue_url, MessageBody="not an S3 event"
    )
    harness.put({"cams/a.png": png(4, 4, (1, 2, 3))})

    # The ledger commits, then the acknowledgement never reaches SQS (as if the process died
    # there): botocore's call fails, our code runs unchanged.
    from botocore.client import BaseClient

    make_call = getattr(BaseClient, "_make_api_call")  # noqa: B009 - untyped in the stubs

    def fail(self: BaseClient, operation: str, params: Any) -> Any:
        if operation == "DeleteMessageBatch":
            raise RuntimeError("killed before the acknowledgement")
        return make_call(self, operation, params)

    with monkeypatch.context() as patched:
        patched.setattr(BaseClient, "_make_api_call", fail)
        with pytest.raises(Exception, match="killed before the acknowledgement"):
            harness.driver(defs).tick("bucket_events")
    planned = ledger(harness).files_in_state(FileState.PLANNED)
    assert [r.key for r in planned] == ["cams/a.png"]

    tick_until(harness, defs, lambda: len(urls_in_folder(harness)) == 1, "registration")
    tick_until(harness, defs, lambda: True, "a quiet tick")
    assert urls_in_folder(harness) == [f"{harness.endpoint}/{harness.bucket}/cams/a.png"]


def test_event_grid_messages_on_a_storage_queue_drive_the_same_sensor(
    harness: Harness, azurite_queue: AzuriteQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Azurite has no Event Grid: the events are enqueued as Event Grid writes them (base64 JSON
    in Microsoft's documented shapes), naming the objects put in the harness's bucket."""
    monkeypatch.setenv("TEST_QUEUE_ACCOUNT_KEY", azurite_queue.account_key)
    defs = harness.defs(
        events={
            "queue": f"azqueue://{azurite_queue.account}/{azurite_queue.queue}",
            "options": {
                "endpoint_url": azurite_queue.account_url,
                "account_key_env": "TEST_QUEUE_ACCOUNT_KEY",
            },
            "wait_seconds": 1,
        }
    )
    harness.put({f"cams/{n}.png": png(4, 4, (n, 2, 2)) for n in range(3)})
    bodies = [
        message_body(
            blob_event(schema, "Microsoft.Storage.BlobCreated", harness.bucket, f"cams/{n}.png"),
            "base64",
        )
        for n, schema in enumerate(("eventgrid", "cloudevents", "eventgrid"))
    ]
    send(azurite_queue, *bodies, message_body({"not": "an event"}, "plain"))
    tick_until(harness, defs, lambda: len(urls_in_folder(harness)) == 3, "3 registrations")
    assert len(set(urls_in_folder(harness))) == 3
    assert stored_count(azurite_queue) == 1  # the poison message stays for its dead-letter path


def test_gcs_notifications_on_a_pubsub_subscription_drive_the_same_sensor(
    harness: Harness, make_queue: Callable[..., PubSubQueue]
) -> None:
    """GCS notifications (JSON_API_V1 and attributes-only NONE payloads) through the real
    Pub/Sub client and the test gRPC server, naming objects put in the harness's bucket; the
    NONE payload's size is read by listing that key."""
    queue = make_queue(ack_deadline_seconds=10)
    defs = harness.defs(events={"queue": queue.url, "wait_seconds": 1})
    sizes = {n: len(png(4 + n, 4, (n, 3, 3))) for n in range(3)}
    harness.put({f"cams/{n}.png": png(4 + n, 4, (n, 3, 3)) for n in range(3)})
    publish(
        queue.topic,
        *(
            notification(
                "OBJECT_FINALIZE",
                harness.bucket,
                f"cams/{n}.png",
                1_700_000_000_000_000 + n,
                size=sizes[n],
                payload_format="NONE" if n == 2 else "JSON_API_V1",
            )
            for n in range(3)
        ),
    )
    tick_until(harness, defs, lambda: len(urls_in_folder(harness)) == 3, "3 registrations")
    assert len(set(urls_in_folder(harness))) == 3
    rows = {r.key: r for r in ledger(harness).files_in_state(*FileState)}
    assert rows["cams/2.png"].size == sizes[2]  # listed, not taken from the event
