"""Azure Blob Storage: `az://ACCOUNT/CONTAINER/prefix` or `https://ACCOUNT.blob.core.windows.net/CONTAINER/prefix`.

Credentials, first found wins: `connection_string` (or AZURE_STORAGE_CONNECTION_STRING), a SAS
token (`sas_token`), an account key (`account_key`), else `DefaultAzureCredential` (env, managed
identity, Azure CLI). `endpoint_url` overrides the account URL (Azurite:
`http://127.0.0.1:PORT/devstoreaccount1`). Object URLs are `ACCOUNT_URL/CONTAINER/KEY`, which on
Azure is Encord's documented `https://ACCOUNT.blob.core.windows.net/CONTAINER/KEY`.
Secrets are kept in the SDK client only; URLs and messages never carry the SAS query.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.storage.blob import BlobPrefix, BlobServiceClient, ContainerClient, ContentSettings

from dagster_encord.errors import (
    AccessDeniedError,
    BadCredentialsError,
    BucketNotFoundError,
    ObjectNotFoundError,
    SourceError,
)
from dagster_encord.sources.base import READ_LIMIT, ObjectRecord
from dagster_encord.sources.diagnostics import check_size, translated_errors, unreachable
from dagster_encord.sources.incremental import as_utc
from dagster_encord.sources.listing import PagedSource
from dagster_encord.sources.urls import decode_key, encode_key, strip_endpoint

# Error codes for a rejected key, SAS or token (shared with the Storage Queue event reader).
BAD_CREDENTIAL_CODES = {
    "AuthenticationFailed",
    "InvalidAuthenticationInfo",
    "NoAuthenticationInformation",
}
_NO_CONTAINER = {"ContainerNotFound", "ResourceNotFound"}


class AzureSource(PagedSource):
    """A container (and optional prefix) in an Azure storage account, or in Azurite."""

    def __init__(
        self,
        url: str,
        *,
        endpoint_url: str | None = None,
        connection_string: str | None = None,
        sas_token: str | None = None,
        account_key: str | None = None,
        credential: Any = None,
        max_attempts: int = 3,
    ) -> None:
        if url.lower().startswith(("https://", "http://")) and "?" in url:
            # A pasted SAS URL: the query is the credential; keep it out of `url` and messages.
            url, _, query = url.partition("?")
            sas_token = sas_token or query
        self.url = url
        self.account, self.container_name, self.root_prefix = _parse(url)
        connection_string = connection_string or os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
        retry: dict[str, Any] = {
            "retry_total": max(max_attempts - 1, 0),
            "initial_backoff": 1,
            "increment_base": 2,
        }
        if endpoint_url:
            account_url = strip_endpoint(endpoint_url)
        elif url.lower().startswith(("https://", "http://")):
            parts = urlsplit(url)
            account_url = f"{parts.scheme}://{parts.netloc}"
        else:
            account_url = f"https://{self.account}.blob.core.windows.net"
        if connection_string and not endpoint_url:
            service = BlobServiceClient.from_connection_string(connection_string, **retry)
        else:
            service = BlobServiceClient(
                account_url,
                credential=azure_credential(
                    self.account, connection_string, sas_token, account_key, credential
                ),
                **retry,
            )
        self.account_url = service.url.split("?", 1)[0].rstrip("/")
        self.endpoint_url = endpoint_url
        self.container: ContainerClient = service.get_container_client(self.container_name)

    def __repr__(self) -> str:
        return f"AzureSource({self.url!r}, account_url={self.account_url!r})"

    # --- URLs -------------------------------------------------------------------------------

    def object_url(self, key: str) -> str:
        return f"{self.account_url}/{self.container_name}/{encode_key(key)}"

    def key_from_url(self, object_url: str) -> str:
        base = f"{self.account_url}/{self.container_name}/"
        if object_url.startswith(base):
            return decode_key(object_url[len(base) :])
        path = urlsplit(object_url).path.removeprefix("/")
        return decode_key(path.split("/", 1)[1])

    # --- listing ----------------------------------------------------------------------------

    def _raw_pages(
        self, prefix: str, start_after: str | None, page_size: int
    ) -> Iterator[list[ObjectRecord]]:
        # Azure has no start-after; PagedSource drops the keys at or before it.
        with self.translate_errors(prefix):
            blobs = self.container.list_blobs(
                name_starts_with=prefix or None, results_per_page=page_size
            )
            for page in blobs.by_page():
                yield [self._record(blob) for blob in page]

    def _delimited_pages(
        self, prefix: str, page_size: int
    ) -> Iterator[tuple[list[ObjectRecord], list[str]]]:
        with self.translate_errors(prefix):
            items = self.container.walk_blobs(
                name_starts_with=prefix or None, delimiter="/", results_per_page=page_size
            )
            for page in items.by_page():
                records: list[ObjectRecord] = []
                prefixes: list[str] = []
                for item in page:
                    if isinstance(item, BlobPrefix):
                        prefixes.append(item.name)
                    else:
                        records.append(self._record(item))
                yield records, prefixes

    def _record(self, blob: Any) -> ObjectRecord:
        settings = blob.content_settings
        return ObjectRecord(
            key=blob.name,
            object_url=self.object_url(blob.name),
            size=int(blob.size or 0),
            version=str(blob.etag).strip('"') if blob.etag else None,
            last_modified=as_utc(blob.last_modified),
            content_type=settings.content_type if settings else None,
        )

    # --- objects ----------------------------------------------------------------------------

    def read_bytes(self, key: str, max_bytes: int = READ_LIMIT) -> bytes:
        with self.translate_errors(key, key=key):
            download = self.container.download_blob(key)
            check_size(self.object_url(key), download.size, max_bytes)
            data = bytes(download.readall())
        return data

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> str:
        settings = ContentSettings(content_type=content_type) if content_type else None
        with self.translate_errors(key, key=key):
            self.container.upload_blob(key, data, overwrite=True, content_settings=settings)
        return self.object_url(key)

    def translate_errors(
        self, prefix_or_key: str, key: str | None = None
    ) -> AbstractContextManager[None]:
        """Map SDK failures inside the block to the package's errors."""
        where = f"{self.account_url}/{self.container_name}/{prefix_or_key}"
        return translated_errors(where, key, partial(_raise_translated, self))


def _raise_translated(source: AzureSource, where: str, key: str | None, error: Exception) -> None:
    """Raise the package error for an SDK `error`, if it is one we recognise."""
    raw_code = getattr(error, "error_code", None)
    code = str(getattr(raw_code, "value", raw_code) or "")
    container = source.container_name
    if isinstance(error, ResourceNotFoundError) or code in _NO_CONTAINER:
        if key is not None and code not in _NO_CONTAINER:
            raise ObjectNotFoundError(f"{where} does not exist: check the key") from None
        raise BucketNotFoundError(
            f"Azure container {container!r} does not exist in {source.account_url} "
            f"({where}): check the container name and the account"
        ) from None
    # Azurite answers a bad signature with AuthorizationFailure, in Azure's own words.
    rejected = "failed to authenticate" in str(error).lower()
    if code in BAD_CREDENTIAL_CODES or rejected or is_identity_error(error):
        raise BadCredentialsError(
            f"Azure rejected the credentials for {where} ({code or type(error).__name__}):"
            " check the connection string, account key or SAS token (and that it has not "
            "expired), or `az login` for DefaultAzureCredential"
        ) from None
    if isinstance(error, ClientAuthenticationError) or (
        isinstance(error, HttpResponseError) and error.status_code == 403
    ):
        need = "read/write on the blob" if key else "list on the container"
        raise AccessDeniedError(
            f"access denied to {where} ({code or 403}): the SAS or role needs {need} "
            "(e.g. role 'Storage Blob Data Reader', SAS permissions rl)"
        ) from None
    if isinstance(error, ServiceRequestError):
        raise unreachable(where, source.account_url, type(error).__name__) from None
    if isinstance(error, HttpResponseError):
        raise SourceError(
            f"Azure request for {where} failed ({code or error.status_code})"
        ) from None


def is_identity_error(error: BaseException) -> bool:
    """True when DefaultAzureCredential (or another token credential) found no usable identity."""
    return type(error).__name__ in {"CredentialUnavailableError", "ClientAuthenticationError"} and (
        "credential" in str(error).lower()
    )


def _parse(url: str) -> tuple[str, str, str]:
    """(account, container, prefix) from `az://` or an `https://ACCOUNT.blob...` URL."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if sep and scheme in ("az", "azure"):
        account, _, rest = rest.partition("/")
    elif sep and scheme in ("https", "http") and ".blob." in rest.split("/", 1)[0]:
        host, _, rest = rest.partition("/")
        account = host.split(".", 1)[0]
    else:
        raise SourceError(
            f"{url!r} is not an Azure Blob URL: use az://ACCOUNT/CONTAINER/prefix or "
            "https://ACCOUNT.blob.core.windows.net/CONTAINER/prefix"
        )
    container, _, prefix = rest.partition("/")
    if not account or not container:
        raise SourceError(
            f"{url!r} names no account or container: use az://ACCOUNT/CONTAINER/prefix"
        )
    return account, container, decode_key(prefix) if scheme.startswith("http") else prefix


def azure_credential(
    account: str,
    connection_string: str | None,
    sas_token: str | None,
    account_key: str | None,
    credential: Any,
) -> Any:
    """The SDK credential for `account`, first found wins: `credential`, the key or SAS inside
    `connection_string`, `sas_token`, `account_key`, else DefaultAzureCredential. Shared by
    every Azure Storage client (blobs, queues) so they resolve credentials the same way."""
    if credential is not None:
        return credential
    if connection_string:
        # An endpoint override with a connection string: reuse its key/SAS on that endpoint.
        fields = dict(part.split("=", 1) for part in connection_string.split(";") if "=" in part)
        if "SharedAccessSignature" in fields:
            return fields["SharedAccessSignature"]
        if "AccountKey" in fields:
            return {
                "account_name": fields.get("AccountName", ""),
                "account_key": fields["AccountKey"],
            }
    if sas_token:
        return sas_token.lstrip("?")
    if account_key:
        return {"account_name": account, "account_key": account_key}
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()
