"""Amazon S3 and S3-compatible stores (MinIO, OTC OBS, moto): `s3://bucket/prefix`.

Credentials come from boto3's standard chain (env, profile, SSO, container/instance role), or
from explicit keys, optionally assuming `role_arn`. Listing uses one of two engines behind the same
pages (`s3_listers.Lister`): `obstore` (Rust; the default, about 10x faster per page, in
`s3_fast.py`) or `boto3` (the paginator, `Boto3Lister`). Reads, writes, credentials and error
diagnosis always use boto3.

Object URL styles (`url_style`):
- `virtual` (default on AWS): `https://BUCKET.s3.REGION.amazonaws.com/KEY`; with a non-local
  `endpoint_url` (e.g. OTC `https://obs.eu-de.otc.t-systems.com`) the bucket goes in front of
  the endpoint host: `https://BUCKET.obs.eu-de.otc.t-systems.com/KEY`.
- `path`: `https://s3.REGION.amazonaws.com/BUCKET/KEY`, or `ENDPOINT/BUCKET/KEY`.
- `s3`: `s3://BUCKET/KEY` (the key unencoded, as the AWS console's S3 URI shows it).
- `mrap`: `https://MRAP_ARN.mrap.s3-accesspoint.amazonaws.com/KEY`, Encord's documented form for
  Multi-Region Access Points (set `mrap_arn`, which implies this style).
- `auto`: `mrap` when `mrap_arn` is set; `path` on a loopback `endpoint_url` (moto, MinIO on
  127.0.0.1: the Encord emulator HEADs/GETs `http://127.0.0.1:PORT/BUCKET/KEY` directly);
  otherwise `virtual`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from functools import partial
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

import boto3
import botocore.exceptions
from botocore.config import Config

from dagster_encord.errors import BadCredentialsError, ObjectNotFoundError, SourceError
from dagster_encord.sources.base import READ_LIMIT, ObjectRecord
from dagster_encord.sources.diagnostics import check_size, translated_errors, unreachable
from dagster_encord.sources.incremental import as_utc
from dagster_encord.sources.listing import PagedSource
from dagster_encord.sources.s3_errors import missing_credentials, s3_error
from dagster_encord.sources.s3_listers import Lister, S3Bucket
from dagster_encord.sources.urls import (
    decode_key,
    encode_key,
    endpoint_is_local,
    split_bucket_url,
    strip_endpoint,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import (
        ListObjectsV2RequestPaginateTypeDef,
        ListObjectsV2RequestTypeDef,
        ObjectTypeDef,
    )

UrlStyle = Literal["auto", "virtual", "path", "s3", "mrap"]
Engine = Literal["auto", "obstore", "boto3"]
_CONNECTION_ERRORS = (
    botocore.exceptions.EndpointConnectionError,
    botocore.exceptions.ConnectTimeoutError,
    botocore.exceptions.ReadTimeoutError,
    botocore.exceptions.ConnectionClosedError,
)


class S3Source(PagedSource):
    """A bucket (and optional prefix) on S3 or an S3-compatible endpoint."""

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
        url_style: UrlStyle = "auto",
        mrap_arn: str | None = None,
        engine: Engine = "auto",
        max_attempts: int = 3,
        max_pool_connections: int = 32,
    ) -> None:
        parts = split_bucket_url(url, ("s3",))
        self.url = url
        self.bucket = parts.bucket
        self.root_prefix = parts.prefix
        self.endpoint_url = strip_endpoint(endpoint_url) if endpoint_url else None
        if url_style == "mrap" and not mrap_arn:
            raise SourceError(
                f"url_style='mrap' for {url} needs mrap_arn='arn:aws:s3::ACCOUNT:accesspoint/ALIAS'"
            )
        self.mrap_arn = mrap_arn
        self.url_style: UrlStyle = _resolve_style(url_style, mrap_arn, self.endpoint_url)
        self.engine: Engine = "obstore" if engine == "auto" else engine
        self.max_attempts = max_attempts
        self.session = aws_session(
            url, profile, access_key_id, secret_access_key, session_token, region, role_arn
        )
        self.region = region or self.session.region_name or "us-east-1"
        self._config = Config(
            region_name=self.region,
            retries={"max_attempts": max_attempts, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
            max_pool_connections=max_pool_connections,
            s3={"addressing_style": "path"} if self.endpoint_url else {},
        )
        self._client: S3Client | None = None
        self._lister: Lister | None = None
        self._lock = threading.Lock()  # boto3 sessions are not thread-safe; fan-out threads

    def __repr__(self) -> str:
        return f"S3Source({self.url!r}, endpoint_url={self.endpoint_url!r}, engine={self.engine!r})"

    @property
    def default_endpoint(self) -> str:
        return self.endpoint_url or f"https://s3.{self.region}.amazonaws.com"

    @property
    def client(self) -> S3Client:
        """The boto3 client (created once, on first use; the client itself is thread-safe)."""
        with self._lock:
            if self._client is None:
                self._client = self.session.client(
                    "s3", endpoint_url=self.endpoint_url, config=self._config
                )
            return self._client

    # --- URLs -------------------------------------------------------------------------------

    def object_url(self, key: str) -> str:
        return _URL_BUILDERS[self.url_style](self, key)

    def key_from_url(self, object_url: str) -> str:
        if object_url.lower().startswith("s3://"):
            return split_bucket_url(object_url, ("s3",)).prefix
        path = urlsplit(object_url).path
        if self.url_style == "path":
            base = urlsplit(self.endpoint_url).path if self.endpoint_url else ""
            path = path[len(base) :].removeprefix(f"/{self.bucket}")
        elif self.url_style == "mrap":
            # The ARN's `/accesspoint/ALIAS...` sits in the URL path before the key.
            path = object_url.split(".s3-accesspoint.amazonaws.com", 1)[1]
        return decode_key(path.removeprefix("/"))

    # --- listing ----------------------------------------------------------------------------

    def _raw_pages(
        self, prefix: str, start_after: str | None, page_size: int
    ) -> Iterator[list[ObjectRecord]]:
        return self._get_lister().pages(prefix, start_after, page_size)

    def _delimited_pages(
        self, prefix: str, page_size: int
    ) -> Iterator[tuple[list[ObjectRecord], list[str]]]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket,
            Prefix=prefix,
            Delimiter="/",
            PaginationConfig={"PageSize": min(page_size, 1000)},
        )
        with self.translate_errors(prefix):
            for response in pages:
                records = [self.record_from_listing(item) for item in response.get("Contents", ())]
                yield records, [item["Prefix"] for item in response.get("CommonPrefixes", ())]

    def record_from_listing(self, item: ObjectTypeDef) -> ObjectRecord:
        key = item["Key"]
        return ObjectRecord(
            key=key,
            object_url=self.object_url(key),
            size=int(item["Size"]),
            version=str(item.get("ETag", "")).strip('"') or None,
            last_modified=as_utc(item["LastModified"]),
        )

    def _get_lister(self) -> Lister:
        with self._lock:
            if self._lister is None:
                self._lister = self._new_lister()
            return self._lister

    def _new_lister(self) -> Lister:
        boto3_lister = Boto3Lister(self)
        if self.engine == "boto3":
            return boto3_lister
        from dagster_encord.sources.s3_fast import ObstoreLister  # loads obstore only when used

        bucket = S3Bucket(
            url=self.url,
            bucket=self.bucket,
            region=self.region,
            endpoint_url=self.endpoint_url,
            default_endpoint=self.default_endpoint,
            max_attempts=self.max_attempts,
            session=self.session,
            object_url=self.object_url,
        )
        return ObstoreLister(bucket, fallback=boto3_lister)

    # --- objects ----------------------------------------------------------------------------

    def read_bytes(self, key: str, max_bytes: int = READ_LIMIT) -> bytes:
        with self.translate_errors(key, key=key):
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            body = response["Body"]
            try:
                check_size(f"s3://{self.bucket}/{key}", response.get("ContentLength"), max_bytes)
                data = bytes(body.read())
            finally:
                body.close()
        return data

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> str:
        with self.translate_errors(key, key=key):
            if content_type:
                self.client.put_object(
                    Bucket=self.bucket, Key=key, Body=data, ContentType=content_type
                )
            else:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=data)
        return self.object_url(key)

    def key_exists(self, key: str) -> bool:
        """HEAD one key (used to tell a zero-byte object from a folder placeholder)."""
        try:
            with self.translate_errors(key, key=key):
                self.client.head_object(Bucket=self.bucket, Key=key)
        except ObjectNotFoundError:
            return False
        return True

    def translate_errors(
        self, prefix_or_key: str, key: str | None = None
    ) -> AbstractContextManager[None]:
        """Map SDK failures inside the block to the package's errors."""
        where = f"s3://{self.bucket}/{prefix_or_key}"
        return translated_errors(where, key, partial(_raise_translated, self))


class Boto3Lister:
    """The boto3 engine (a `Lister`: the ListObjectsV2 paginator), and the obstore engine's
    `Boto3Fallback`. It shares the source's client and error translation."""

    def __init__(self, source: S3Source) -> None:
        self.source = source

    def pages(
        self, prefix: str, start_after: str | None, page_size: int
    ) -> Iterator[list[ObjectRecord]]:
        source = self.source
        request: ListObjectsV2RequestPaginateTypeDef = {
            "Bucket": source.bucket,
            "Prefix": prefix,
            "PaginationConfig": {"PageSize": min(page_size, 1000)},
        }
        if start_after:
            request["StartAfter"] = start_after
        pages = source.client.get_paginator("list_objects_v2").paginate(**request)
        with source.translate_errors(prefix):
            for response in pages:
                yield [source.record_from_listing(item) for item in response.get("Contents", ())]

    def page_after(
        self, prefix: str, start_after: str | None, page_size: int
    ) -> tuple[list[ObjectRecord], bool]:
        """One ListObjectsV2 page; returns (records, more pages follow)."""
        source = self.source
        request: ListObjectsV2RequestTypeDef = {
            "Bucket": source.bucket,
            "Prefix": prefix,
            "MaxKeys": min(page_size, 1000),
        }
        if start_after:
            request["StartAfter"] = start_after
        with source.translate_errors(prefix):
            response = source.client.list_objects_v2(**request)
        records = [source.record_from_listing(item) for item in response.get("Contents", ())]
        return records, bool(response.get("IsTruncated"))

    def key_exists(self, key: str) -> bool:
        return self.source.key_exists(key)


def _raise_translated(source: S3Source, where: str, key: str | None, error: Exception) -> None:
    """Raise the package error for an SDK `error`, if it is one we recognise."""
    endpoint = source.endpoint_url
    if isinstance(error, botocore.exceptions.ClientError):
        info = error.response.get("Error", {})
        code = str(
            info.get("Code") or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        )
        raise s3_error(
            code,
            where=where,
            bucket=source.bucket,
            endpoint_url=endpoint,
            key=key,
            detail=str(info.get("Message", "")),
        ) from None
    if isinstance(
        error,
        botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError,
    ):
        raise missing_credentials(where) from None
    if isinstance(error, _CONNECTION_ERRORS):
        raise unreachable(
            where, endpoint or source.default_endpoint, type(error).__name__
        ) from None


def _resolve_style(style: UrlStyle, mrap_arn: str | None, endpoint_url: str | None) -> UrlStyle:
    if style != "auto":
        return style
    if mrap_arn:
        return "mrap"
    return "path" if endpoint_is_local(endpoint_url) else "virtual"


def _virtual_url(source: S3Source, key: str) -> str:
    if source.endpoint_url:
        endpoint = urlsplit(source.endpoint_url)
        return f"{endpoint.scheme}://{source.bucket}.{endpoint.netloc}/{encode_key(key)}"
    return f"https://{source.bucket}.s3.{source.region}.amazonaws.com/{encode_key(key)}"


def _path_url(source: S3Source, key: str) -> str:
    base = source.endpoint_url or f"https://s3.{source.region}.amazonaws.com"
    return f"{base}/{source.bucket}/{encode_key(key)}"


def _s3_url(source: S3Source, key: str) -> str:
    return f"s3://{source.bucket}/{key}"


def _mrap_url(source: S3Source, key: str) -> str:
    return f"https://{source.mrap_arn}.mrap.s3-accesspoint.amazonaws.com/{encode_key(key)}"


_URL_BUILDERS: dict[str, Callable[[S3Source, str], str]] = {
    "virtual": _virtual_url,
    "path": _path_url,
    "s3": _s3_url,
    "mrap": _mrap_url,
}


def aws_session(
    url: str,
    profile: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
    session_token: str | None,
    region: str | None,
    role_arn: str | None,
) -> boto3.Session:
    """A boto3 session from a profile or explicit keys (else boto3's chain), optionally assuming
    `role_arn`; `url` only names the thing in error messages. Shared with the SQS reader."""
    try:
        session = boto3.Session(
            profile_name=profile,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            aws_session_token=session_token,
            region_name=region,
        )
    except botocore.exceptions.ProfileNotFound:
        raise BadCredentialsError(
            f"AWS profile {profile!r} (for {url}) is not in ~/.aws/config or ~/.aws/credentials: "
            "fix --profile / AWS_PROFILE"
        ) from None
    if not role_arn:
        return session
    try:
        credentials = session.client("sts").assume_role(
            RoleArn=role_arn, RoleSessionName="dagster-encord"
        )["Credentials"]
    except botocore.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        raise BadCredentialsError(
            f"could not assume role {role_arn} for {url} ({code}): check the role's trust policy"
        ) from None
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region or session.region_name,
    )
