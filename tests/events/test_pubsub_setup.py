"""The Pub/Sub reader's configuration and errors: subscription URLs, endpoints (the option and
PUBSUB_EMULATOR_HOST), credentials, the package's errors, and the events extra when it is missing.
The queue itself is exercised in test_pubsub.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from google.api_core import exceptions as gexc

from dagster_encord.errors import (
    AccessDeniedError,
    BadCredentialsError,
    EndpointUnreachableError,
    QueueNotFoundError,
    SourceError,
)
from dagster_encord.events import EventKind, QueueMessage
from dagster_encord.events.pubsub import PubSubEventReader, _is_transient, parse_subscription_url
from tests.emulators.processes import free_port
from tests.emulators.pubsub import PubSubEmulator
from tests.events.gcs_messages import notification, publish
from tests.events.reading import BUCKET, KEY, MakeQueue, MakeReader, events, receive_until

# --- endpoints, URLs, options ---------------------------------------------------------------


@pytest.mark.parametrize("form", ["http://{host}", "{host}", "http://{host}/"])
def test_endpoint_url_option_without_the_variable(
    make_queue: MakeQueue,
    make_reader: MakeReader,
    monkeypatch: pytest.MonkeyPatch,
    form: str,
) -> None:
    queue = make_queue()
    publish(queue.topic, notification("OBJECT_FINALIZE", BUCKET, KEY, 1))
    monkeypatch.delenv("PUBSUB_EMULATOR_HOST")
    reader = make_reader(queue.url, endpoint_url=form.format(host=queue.emulator.host))
    assert events(receive_until(reader, lambda got: len(got) == 1)) == [
        (EventKind.CREATED, KEY, "1")
    ]


def test_endpoint_url_option_wins_over_the_variable(
    make_queue: MakeQueue, make_reader: MakeReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = make_queue()
    publish(queue.topic, notification("OBJECT_FINALIZE", BUCKET, KEY, 1))
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{free_port()}")  # nothing there
    reader = make_reader(queue.url, endpoint_url=queue.emulator.host)
    assert len(receive_until(reader, lambda got: len(got) == 1)) == 1


def test_https_endpoint_uses_tls_and_the_credentials(
    make_reader: MakeReader, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", "127.0.0.1:1")
    key_file = _service_account_file(tmp_path)
    reader = make_reader(
        "pubsub://p/subscriptions/s",
        endpoint_url="https://europe-west1-pubsub.googleapis.com",
        credentials_file=str(key_file),
    )
    assert reader.emulator_host is None
    assert reader.client.target == "europe-west1-pubsub.googleapis.com:443"
    assert (
        reader.client.transport._credentials.service_account_email == "r@p.iam.gserviceaccount.com"
    )


@pytest.mark.parametrize(
    "url",
    [
        "pubsub://my-project/subscriptions/bucket-events",
        "projects/my-project/subscriptions/bucket-events",
        "pubsub://projects/my-project/subscriptions/bucket-events",
        "PubSub://my-project/subscriptions/bucket-events/",
    ],
)
def test_subscription_url_forms(url: str) -> None:
    assert parse_subscription_url(url) == ("my-project", "bucket-events")
    reader = PubSubEventReader(url)
    assert reader.url == "pubsub://my-project/subscriptions/bucket-events"
    assert reader.subscription_path == "projects/my-project/subscriptions/bucket-events"


@pytest.mark.parametrize(
    "url",
    [
        "pubsub://my-project/bucket-events",
        "pubsub://my-project/topics/bucket-events",
        "projects/my-project/subscriptions/",
        "sqs://us-east-1/123/q",
        "bucket-events",
    ],
)
def test_bad_subscription_urls(url: str) -> None:
    with pytest.raises(SourceError, match=r"pubsub://PROJECT/subscriptions/SUBSCRIPTION"):
        PubSubEventReader(url)


def test_bad_options() -> None:
    with pytest.raises(SourceError, match=r"ack_deadline_seconds=0.*1 to 600"):
        PubSubEventReader("pubsub://p/subscriptions/s", ack_deadline_seconds=0)
    with pytest.raises(SourceError, match=r"endpoint_url 'ftp://h:1'.*http://HOST:PORT"):
        PubSubEventReader("pubsub://p/subscriptions/s", endpoint_url="ftp://h:1")


# --- errors ---------------------------------------------------------------------------------


def test_missing_subscription(pubsub_host: PubSubEmulator, make_reader: MakeReader) -> None:
    reader = make_reader("pubsub://test-project/subscriptions/nope")
    with pytest.raises(QueueNotFoundError) as raised:
        reader.receive(max_messages=10, wait_seconds=1)
    message = str(raised.value)
    assert "projects/test-project/subscriptions/nope does not exist" in message
    assert "gcloud pubsub subscriptions create nope --topic=TOPIC --project=test-project" in message


def test_permission_denied(make_queue: MakeQueue, make_reader: MakeReader) -> None:
    queue = make_queue()
    queue.emulator.deny(queue.subscription)
    reader = make_reader(queue.url)
    with pytest.raises(AccessDeniedError, match=rf"roles/pubsub.subscriber.*{queue.subscription}"):
        reader.receive(max_messages=10, wait_seconds=1)
    with pytest.raises(AccessDeniedError, match="acknowledge"):
        reader.acknowledge([QueueMessage(message_id="1", handle="1:1:x")])


def test_unreachable_endpoint(make_reader: MakeReader) -> None:
    endpoint = f"127.0.0.1:{free_port()}"
    reader = make_reader("pubsub://p/subscriptions/s", endpoint_url=endpoint, retry_deadline=1)
    with pytest.raises(
        EndpointUnreachableError, match=rf"cannot reach {endpoint}.*subscriptions/s"
    ):
        reader.receive(max_messages=10, wait_seconds=5)


def test_bad_credentials_file(
    make_reader: MakeReader, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PUBSUB_EMULATOR_HOST", raising=False)
    (tmp_path / "key.json").write_text("{}")
    reader = make_reader("pubsub://p/subscriptions/s", credentials_file=str(tmp_path / "key.json"))
    with pytest.raises(BadCredentialsError, match=r"service-account file.*credentials_file"):
        reader.receive(max_messages=10, wait_seconds=1)


def test_no_default_credentials(
    make_reader: MakeReader, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PUBSUB_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    reader = make_reader("pubsub://p/subscriptions/s")
    with pytest.raises(BadCredentialsError, match=r"application-default login.*credentials_file"):
        reader.receive(max_messages=10, wait_seconds=1)


def test_missing_extra_names_the_install() -> None:
    code = (
        "import sys; sys.modules['google.cloud.pubsub_v1'] = None\n"
        "import dagster_encord.events\n"
        "assert 'grpc' not in sys.modules and 'google.pubsub_v1' not in sys.modules\n"
        "try:\n    import dagster_encord.events.pubsub\n"
        "except ImportError as error:\n    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    assert "pip install 'dagster-encord[events]'" in result.stdout


def _service_account_file(tmp_path: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path = tmp_path / "key.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "p",
                "private_key_id": "1",
                "private_key": pem,
                "client_email": "r@p.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )
    )
    return path


def test_failing_credentials_are_reported_not_retried() -> None:
    # What gRPC raises when the credentials cannot sign a request (a revoked key, say): seen with
    # grpc's own call credentials against the test server, which cannot issue them itself.
    error = gexc.ServiceUnavailable(
        "Getting metadata from plugin failed with error: invalid_grant: Invalid JWT Signature."
    )
    assert not _is_transient(error)
    assert _is_transient(gexc.ServiceUnavailable("failed to connect to all addresses"))
    reader = PubSubEventReader("pubsub://p/subscriptions/s")
    with pytest.raises(BadCredentialsError, match="rejected the credentials"):
        reader._raise_translated("pull from it", None, gexc.RetryError("timeout", cause=error))


def test_acknowledge_refuses_a_message_from_elsewhere() -> None:
    reader = PubSubEventReader("pubsub://p/subscriptions/s")
    with pytest.raises(ValueError, match="message m1 has no Pub/Sub ack id"):
        reader.acknowledge([QueueMessage(message_id="m1", handle={"ReceiptHandle": "x"})])
    reader.acknowledge([QueueMessage(message_id="m2", poison="bad", handle=None)])  # skipped
