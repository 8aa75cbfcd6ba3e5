"""Each listing failure raises an error from `dagster_encord.errors` that names the bucket or URL
and the fix, for every provider, against the real emulators."""

from __future__ import annotations

import base64
import json
import secrets
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dagster_encord.errors import (
    AccessDeniedError,
    BadCredentialsError,
    BucketNotFoundError,
    EndpointUnreachableError,
    ObjectNotFoundError,
    ObjectTooLargeError,
    SourceError,
    UnknownSchemeError,
)
from dagster_encord.sources import open_source
from tests.emulators.azure import ConnectionString
from tests.emulators.s3 import S3AuthServer
from tests.sources.rigs import Rig, all_records

ENGINES = ["obstore", "boto3"]


def test_unknown_scheme_names_the_url_and_the_supported_forms() -> None:
    with pytest.raises(UnknownSchemeError, match=r"ftp://.*s3://BUCKET.*file:///path"):
        open_source("ftp://example.com/data")
    with pytest.raises(UnknownSchemeError, match="scheme missing"):
        open_source("my-bucket/prefix")


def test_https_urls_other_than_azure_blob_are_refused() -> None:
    with pytest.raises(SourceError, match="not an Azure Blob URL"):
        open_source("https://example.com/bucket/key")


def test_options_a_provider_does_not_take_are_named() -> None:
    with pytest.raises(SourceError, match="region"):
        open_source("file:///tmp", region="eu-west-1")


def test_missing_bucket(rig: Rig) -> None:
    missing = f"missing-{uuid.uuid4().hex[:12]}"
    options = {name: value for name, value in rig.options.items() if name != "root"}
    source = open_source(f"{rig.url.rsplit('/', 1)[0]}/{missing}", **options)
    with pytest.raises(BucketNotFoundError, match=missing):
        all_records(source)


def test_missing_object(rig: Rig) -> None:
    with pytest.raises(ObjectNotFoundError, match=r"sidecars/none\.json"):
        rig.source().read_bytes("sidecars/none.json")


def test_read_bytes_refuses_objects_over_its_limit(rig: Rig) -> None:
    rig.put("videos/big.mp4", b"x" * 2048)
    rig.put("meta/small.json", b"{}")
    source = rig.source()
    with pytest.raises(ObjectTooLargeError, match=r"videos/big\.mp4.*1024-byte limit.*max_bytes"):
        source.read_bytes("videos/big.mp4", max_bytes=1024)
    assert source.read_bytes("meta/small.json", max_bytes=2) == b"{}"
    assert source.read_bytes("videos/big.mp4", max_bytes=2048) == b"x" * 2048


@pytest.fixture()
def closed_port() -> Iterator[int]:
    """A port that refuses connections: bound (so nobody else takes it) but not listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


@pytest.mark.parametrize("engine", ENGINES)
def test_s3_unreachable_endpoint(engine: str, s3_server: str, closed_port: int) -> None:
    endpoint = f"http://127.0.0.1:{closed_port}"
    source = open_source("s3://any-bucket", endpoint_url=endpoint, engine=engine, max_attempts=1)
    with pytest.raises(EndpointUnreachableError, match=f"cannot reach {endpoint}.*any-bucket"):
        all_records(source)


def test_gcs_unreachable_endpoint(closed_port: int) -> None:
    endpoint = f"http://127.0.0.1:{closed_port}"
    source = open_source("gs://any-bucket", endpoint_url=endpoint, retry_deadline=1.0)
    with pytest.raises(EndpointUnreachableError, match=f"cannot reach {endpoint}.*any-bucket"):
        all_records(source)


def test_azure_unreachable_endpoint(closed_port: int) -> None:
    endpoint = f"http://127.0.0.1:{closed_port}/acct"
    key = base64.b64encode(secrets.token_bytes(64)).decode()
    source = open_source("az://acct/box", endpoint_url=endpoint, account_key=key, max_attempts=1)
    with pytest.raises(EndpointUnreachableError, match=r"cannot reach .*box"):
        all_records(source)


# --- S3 credentials and permissions (moto with IAM enforced) ------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_s3_unknown_access_key(engine: str, s3_auth_server: S3AuthServer) -> None:
    source = open_source(
        f"s3://{s3_auth_server.bucket}",
        endpoint_url=s3_auth_server.endpoint_url,
        engine=engine,
        access_key_id=f"AKIA{secrets.token_hex(8).upper()}",
        secret_access_key=secrets.token_urlsafe(30),
    )
    with pytest.raises(BadCredentialsError, match=f"{s3_auth_server.bucket}.*AWS_ACCESS_KEY_ID"):
        all_records(source)


@pytest.mark.parametrize("engine", ENGINES)
def test_s3_wrong_secret(engine: str, s3_auth_server: S3AuthServer) -> None:
    wrong_secret = secrets.token_urlsafe(30)
    source = open_source(
        f"s3://{s3_auth_server.bucket}",
        endpoint_url=s3_auth_server.endpoint_url,
        engine=engine,
        access_key_id=s3_auth_server.denied_key_id,
        secret_access_key=wrong_secret,
    )
    with pytest.raises(BadCredentialsError) as raised:
        all_records(source)
    assert wrong_secret not in str(raised.value)
    assert wrong_secret not in repr(source)


@pytest.mark.parametrize("engine", ENGINES)
def test_s3_access_denied(engine: str, s3_auth_server: S3AuthServer) -> None:
    source = open_source(
        f"s3://{s3_auth_server.bucket}/images/",
        endpoint_url=s3_auth_server.endpoint_url,
        engine=engine,
        access_key_id=s3_auth_server.denied_key_id,
        secret_access_key=s3_auth_server.denied_secret,
    )
    with pytest.raises(AccessDeniedError, match=r"s3://.*/images/.*s3:ListBucket"):
        all_records(source)
    with pytest.raises(AccessDeniedError, match="s3:GetObject"):
        source.read_bytes("images/meta.json")


@pytest.mark.parametrize("engine", ENGINES)
def test_s3_without_any_credentials(
    engine: str, s3_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "absent"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask 169.254.169.254
    source = open_source("s3://some-bucket", endpoint_url=s3_server, engine=engine)
    with pytest.raises(
        BadCredentialsError, match=r"no usable AWS credentials for s3://some-bucket"
    ):
        next(iter(source.list_pages()))


def test_s3_missing_profile_is_a_credentials_error(s3_server: str) -> None:
    with pytest.raises(BadCredentialsError, match="no-such-profile"):
        open_source("s3://bucket", profile="no-such-profile")


# --- Azure credentials and permissions (Azurite checks shared keys and SAS) ---------------------


def _fields(connection_string: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in connection_string.split(";") if part)


def test_azure_wrong_account_key(rig_azure: Rig, azurite_server: ConnectionString) -> None:
    fields = _fields(azurite_server)
    wrong_key = base64.b64encode(secrets.token_bytes(64)).decode()
    source = open_source(rig_azure.url, endpoint_url=fields["BlobEndpoint"], account_key=wrong_key)
    with pytest.raises(
        BadCredentialsError, match="connection string, account key or SAS"
    ) as raised:
        all_records(source)
    assert wrong_key not in str(raised.value)
    assert fields["AccountKey"] not in repr(rig_azure.source())


def test_azure_sas_without_list_permission(
    rig_azure: Rig, azurite_server: ConnectionString
) -> None:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    fields = _fields(azurite_server)
    container = rig_azure.url.rsplit("/", 1)[1]
    sas = generate_container_sas(
        fields["AccountName"],
        container,
        account_key=fields["AccountKey"],
        permission=ContainerSasPermissions(read=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    source = open_source(rig_azure.url, endpoint_url=fields["BlobEndpoint"], sas_token=sas)
    with pytest.raises(AccessDeniedError, match=f"{container}.*list") as raised:
        all_records(source)
    assert sas not in str(raised.value)
    assert sas not in repr(source)
    assert "sig=" not in source.object_url("a.jpg")


def test_azure_sas_with_list_permission_lists(
    rig_azure: Rig, azurite_server: ConnectionString
) -> None:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    fields = _fields(azurite_server)
    container = rig_azure.url.rsplit("/", 1)[1]
    rig_azure.put("a.jpg", b"x")
    sas = generate_container_sas(
        fields["AccountName"],
        container,
        account_key=fields["AccountKey"],
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    source = open_source(rig_azure.url, endpoint_url=fields["BlobEndpoint"], sas_token=sas)
    assert [r.key for r in all_records(source)] == ["a.jpg"]
    assert source.read_bytes("a.jpg") == b"x"


@pytest.fixture()
def rig_azure(request: pytest.FixtureRequest) -> Rig:
    from tests.sources.rigs import make_rig

    return make_rig("azure", request)


# --- GCS credentials and permissions ------------------------------------------------------------
# The GCS emulator accepts anything, so rejected credentials and denied access are tested
# against a small server that answers every request the way GCS does (status + JSON error body).


class _GcsErrorHandler(BaseHTTPRequestHandler):
    status = 403

    def do_GET(self) -> None:
        body = json.dumps(
            {"error": {"code": self.status, "message": "denied", "errors": [{"reason": "x"}]}}
        ).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(params=[401, 403])
def gcs_refusing_server(request: pytest.FixtureRequest) -> Iterator[tuple[int, str]]:
    handler = type("Handler", (_GcsErrorHandler,), {"status": request.param})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield request.param, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_gcs_refusals(gcs_refusing_server: tuple[int, str]) -> None:
    status, endpoint = gcs_refusing_server
    source = open_source("gs://locked-bucket/data/", endpoint_url=endpoint, retry_deadline=2.0)
    expected = {401: BadCredentialsError, 403: AccessDeniedError}[status]
    with pytest.raises(expected, match="gs://locked-bucket/data/"):
        all_records(source)


def test_gcs_unreadable_service_account_file(tmp_path: pytest.TempPathFactory) -> None:
    key_file = tmp_path / "key.json"  # type: ignore[operator]
    key_file.write_text('{"type": "service_account"}')
    source = open_source("gs://bucket", credentials_file=str(key_file))
    with pytest.raises(BadCredentialsError, match=r"service-account file.*credentials_file"):
        all_records(source)


def test_gcs_without_application_default_credentials(
    tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "absent.json"))  # type: ignore[operator]
    source = open_source("gs://bucket")
    with pytest.raises(BadCredentialsError, match="application-default login"):
        all_records(source)


# --- the CLI prints the message, no traceback, exit 2 -------------------------------------------


def test_cli_reports_a_missing_bucket_without_traceback(s3_server: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagster_encord.cli",
            "list",
            "s3://no-such-bucket-here",
            "--endpoint-url",
            s3_server,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "no-such-bucket-here" in result.stderr
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_reports_an_unknown_scheme() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dagster_encord.cli", "list", "ftp://host/x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "ftp://" in result.stderr and "Traceback" not in result.stderr
