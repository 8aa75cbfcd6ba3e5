"""Google Cloud Storage: `gs://bucket/prefix`.

Credentials: a service-account JSON file (`credentials_file`), else Application Default
Credentials (`gcloud auth application-default login`, GOOGLE_APPLICATION_CREDENTIALS, workload
identity). With an `endpoint_url` on loopback (the GCS emulator) the client is anonymous.

Object URL styles (`url_style`): `cloud` (default, Encord's documented
`https://storage.cloud.google.com/BUCKET/KEY`), `public` (`https://storage.googleapis.com/BUCKET/KEY`,
what `Blob.public_url` gives), `gs` (`gs://BUCKET/KEY`, key unencoded), `endpoint`
(`ENDPOINT/BUCKET/KEY`, the default on a loopback emulator endpoint).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from functools import partial
from typing import Any, Literal
from urllib.parse import urlsplit

import google.auth.exceptions
import requests
from google.api_core import exceptions as gexc
from google.api_core.retry import Retry
from google.cloud import storage
from google.cloud.storage.retry import DEFAULT_RETRY

from dagster_encord.errors import (
    AccessDeniedError,
    BadCredentialsError,
    BucketNotFoundError,
    ObjectNotFoundError,
    ObjectTooLargeError,
    SourceError,
)
from dagster_encord.sources.base import READ_LIMIT, ObjectRecord
from dagster_encord.sources.diagnostics import translated_errors, unreachable
from dagster_encord.sources.gcp_auth import no_default_credentials, service_account_credentials
from dagster_encord.sources.incremental import as_utc
from dagster_encord.sources.listing import PagedSource
from dagster_encord.sources.urls import (
    decode_key,
    encode_key,
    endpoint_is_local,
    split_bucket_url,
    strip_endpoint,
)

GcsUrlStyle = Literal["auto", "cloud", "public", "gs", "endpoint"]


class GCSSource(PagedSource):
    """A bucket (and optional prefix) on Google Cloud Storage or its emulator."""

    def __init__(
        self,
        url: str,
        *,
        endpoint_url: str | None = None,
        project: str | None = None,
        credentials_file: str | None = None,
        url_style: GcsUrlStyle = "auto",
        retry_deadline: float = 60.0,
    ) -> None:
        parts = split_bucket_url(url, ("gs", "gcs"))
        self.url = url
        self.bucket_name = parts.bucket
        self.root_prefix = parts.prefix
        self.endpoint_url = strip_endpoint(endpoint_url) if endpoint_url else None
        if url_style == "auto":
            url_style = "endpoint" if endpoint_is_local(self.endpoint_url) else "cloud"
        if url_style == "endpoint" and not self.endpoint_url:
            raise SourceError(f"url_style='endpoint' for {url} needs endpoint_url")
        self.url_style = url_style
        self._retry: Retry = DEFAULT_RETRY.with_timeout(retry_deadline)
        self._timeout = min(retry_deadline, 60.0)
        self._client_args = (project, credentials_file)
        self._client: storage.Client | None = None
        self._lock = threading.Lock()  # fan-out threads share one client

    def __repr__(self) -> str:
        return f"GCSSource({self.url!r}, endpoint_url={self.endpoint_url!r})"

    @property
    def client(self) -> storage.Client:
        with self._lock:
            if self._client is None:
                self._client = self._make_client(*self._client_args)
            return self._client

    def _make_client(self, project: str | None, credentials_file: str | None) -> storage.Client:
        options = {"api_endpoint": self.endpoint_url} if self.endpoint_url else None
        if credentials_file:
            credentials: Any = service_account_credentials(credentials_file, self.url)
            return storage.Client(
                project=project or credentials.project_id,
                credentials=credentials,
                client_options=options,
            )
        if endpoint_is_local(self.endpoint_url):
            from google.auth.credentials import AnonymousCredentials

            return storage.Client(
                project=project or "local-emulator",
                credentials=AnonymousCredentials(),
                client_options=options,
            )
        try:
            return storage.Client(project=project, client_options=options)
        except google.auth.exceptions.DefaultCredentialsError:
            raise no_default_credentials(self.url) from None

    # --- URLs -------------------------------------------------------------------------------

    def object_url(self, key: str) -> str:
        return _URL_BUILDERS[self.url_style](self, key)

    def key_from_url(self, object_url: str) -> str:
        if object_url.lower().startswith(("gs://", "gcs://")):
            return split_bucket_url(object_url, ("gs", "gcs")).prefix
        path = urlsplit(object_url).path
        if self.url_style == "endpoint" and self.endpoint_url:
            path = path[len(urlsplit(self.endpoint_url).path) :]
        return decode_key(path.removeprefix("/").removeprefix(f"{self.bucket_name}/"))

    # --- listing ----------------------------------------------------------------------------

    def _blob_pages(self, **kwargs: Any) -> Iterator[Any]:
        blobs = self.client.list_blobs(
            self.bucket_name, retry=self._retry, timeout=self._timeout, **kwargs
        )
        return iter(blobs.pages)

    def _raw_pages(
        self, prefix: str, start_after: str | None, page_size: int
    ) -> Iterator[list[ObjectRecord]]:
        # GCS's start_offset is inclusive; the exclusive bound is applied by PagedSource.
        extra = {"start_offset": start_after} if start_after else {}
        with self.translate_errors(prefix):
            for page in self._blob_pages(prefix=prefix, page_size=page_size, **extra):
                yield [self._record(blob) for blob in page]

    def _delimited_pages(
        self, prefix: str, page_size: int
    ) -> Iterator[tuple[list[ObjectRecord], list[str]]]:
        with self.translate_errors(prefix):
            for page in self._blob_pages(prefix=prefix, delimiter="/", page_size=page_size):
                yield [self._record(blob) for blob in page], sorted(page.prefixes)

    def _record(self, blob: Any) -> ObjectRecord:
        return ObjectRecord(
            key=blob.name,
            object_url=self.object_url(blob.name),
            size=int(blob.size or 0),
            version=str(blob.generation) if blob.generation is not None else None,
            last_modified=as_utc(blob.updated),
            content_type=blob.content_type,
        )

    # --- objects ----------------------------------------------------------------------------

    def read_bytes(self, key: str, max_bytes: int = READ_LIMIT) -> bytes:
        with self.translate_errors(key, key=key):
            # Read one byte past the limit instead of a metadata request first.
            blob = self.client.bucket(self.bucket_name).blob(key)
            data = blob.download_as_bytes(
                start=0, end=max_bytes, retry=self._retry, timeout=self._timeout
            )
        if len(data) > max_bytes:
            raise ObjectTooLargeError(
                f"gs://{self.bucket_name}/{key} is over the {max_bytes}-byte limit for "
                "sidecar/mapping files: check the sidecar pattern, or pass a larger max_bytes"
            )
        return bytes(data)

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> str:
        with self.translate_errors(key, key=key):
            blob = self.client.bucket(self.bucket_name).blob(key)
            blob.upload_from_string(
                data, content_type=content_type or "application/octet-stream", timeout=self._timeout
            )
        return self.object_url(key)

    def translate_errors(
        self, prefix_or_key: str, key: str | None = None
    ) -> AbstractContextManager[None]:
        """Map SDK failures inside the block to the package's errors."""
        where = f"gs://{self.bucket_name}/{prefix_or_key}"
        return translated_errors(where, key, partial(_raise_translated, self))


def _raise_translated(source: GCSSource, where: str, key: str | None, error: Exception) -> None:
    """Raise the package error for an SDK `error`, if it is one we recognise."""
    bucket = source.bucket_name
    if isinstance(error, gexc.NotFound):
        if key is not None and "bucket" not in str(error).lower():
            raise ObjectNotFoundError(f"{where} does not exist: check the key") from None
        raise BucketNotFoundError(
            f"GCS bucket {bucket!r} does not exist ({where}): check the bucket name and the project"
        ) from None
    if isinstance(error, gexc.Unauthorized | google.auth.exceptions.GoogleAuthError):
        raise BadCredentialsError(
            f"GCS rejected the credentials for {where}: renew them with `gcloud auth "
            "application-default login` or check the service-account key file"
        ) from None
    if isinstance(error, gexc.Forbidden):
        need = "storage.objects.get/create" if key else "storage.objects.list"
        raise AccessDeniedError(
            f"access denied to {where}: grant the credentials {need} on bucket "
            f"{bucket!r} (e.g. roles/storage.objectViewer)"
        ) from None
    if isinstance(error, requests.exceptions.ConnectionError | gexc.RetryError):
        endpoint = source.endpoint_url or "https://storage.googleapis.com"
        raise unreachable(where, endpoint, type(error).__name__) from None
    if isinstance(error, gexc.GoogleAPICallError):
        raise SourceError(f"GCS request for {where} failed ({error.code})") from None


def _endpoint_url(source: GCSSource, key: str) -> str:
    return f"{source.endpoint_url}/{source.bucket_name}/{encode_key(key)}"


_URL_BUILDERS: dict[str, Callable[[GCSSource, str], str]] = {
    "cloud": lambda s, k: f"https://storage.cloud.google.com/{s.bucket_name}/{encode_key(k)}",
    "public": lambda s, k: f"https://storage.googleapis.com/{s.bucket_name}/{encode_key(k)}",
    "gs": lambda s, k: f"gs://{s.bucket_name}/{k}",
    "endpoint": _endpoint_url,
}
