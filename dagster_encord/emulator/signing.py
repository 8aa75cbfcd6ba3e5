"""Signed URLs: the time-limited links Encord returns when a call asks for `get_signed_url`.

An object the emulator can read (a loopback test store, a file under the local root) is signed as
a link under the emulator itself, `/signed-objects/NAME?url=...&X-Amz-Date=...&X-Amz-Expires=...
&X-Amz-Signature=...`, that serves the object's bytes (Range requests too) until it expires and
then answers 403 "Request has expired" as S3 does. Objects on real clouds get that cloud's
presigned form (S3 `X-Amz-*`, GCS `X-Goog-*`, Azure SAS `se`/`sig`); nothing here can fetch those.
Signatures are an HMAC with a secret drawn when the emulator starts, so a restart voids them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlencode, urlparse

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route

from dagster_encord.emulator.objects import open_stream
from dagster_encord.emulator.verify import bucket_and_key

EXPIRES_SECONDS = 3600  # S3's default for a presigned GET
ROUTE = "/signed-objects"
_DATE = "%Y%m%dT%H%M%SZ"
Locate = Callable[[str], Path | str | None]


class UrlSigner:
    def __init__(self, locate: Locate, secret: bytes | None = None) -> None:
        self.locate = locate  # where the emulator reads an object, None when it cannot
        self.secret = secret or secrets.token_bytes(32)

    def signature(self, url: str, date: str, expires: str) -> str:
        message = f"{url}\n{date}\n{expires}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def sign(
        self, url: str, origin: str, now: datetime | None = None, expires: int = EXPIRES_SECONDS
    ) -> str:
        """A signed link to the object at `url`; `origin` is the emulator's own base URL."""
        date = (now or datetime.now(UTC)).strftime(_DATE)
        signature = self.signature(url, date, str(expires))
        if self.locate(url) is not None:
            name = quote(url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "object")
            query = {
                "url": url,
                "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
                "X-Amz-Date": date,
                "X-Amz-Expires": str(expires),
                "X-Amz-SignedHeaders": "host",
                "X-Amz-Signature": signature,
            }
            return f"{origin}{ROUTE}/{name}?{urlencode(query)}"
        return _cloud_presigned(url, date, expires, signature)

    def check(self, url: str, date: str, expires: str, signature: str) -> str | None:
        """Why a signed link may not be served now, or None when it may."""
        if not hmac.compare_digest(signature, self.signature(url, date, expires)):
            return "SignatureDoesNotMatch"
        try:
            issued = datetime.strptime(date, _DATE).replace(tzinfo=UTC)
            valid_for = timedelta(seconds=int(expires))
        except ValueError:
            return "SignatureDoesNotMatch"
        return "Request has expired" if datetime.now(UTC) > issued + valid_for else None


def _cloud_presigned(url: str, date: str, expires: int, signature: str) -> str:
    """The URL in its cloud's presigned form (not fetchable from the emulator)."""
    location = bucket_and_key(url)
    parsed = urlparse(url)
    bucket, key = location or ("", "")
    if parsed.scheme == "gs" or parsed.hostname in (
        "storage.cloud.google.com",
        "storage.googleapis.com",
    ):
        base = f"https://storage.googleapis.com/{bucket}/{quote(key)}"
        query = {
            "X-Goog-Algorithm": "GOOG4-RSA-SHA256",
            "X-Goog-Credential": f"encord-emulator/{date[:8]}/auto/storage/goog4_request",
            "X-Goog-Date": date,
            "X-Goog-Expires": str(expires),
            "X-Goog-SignedHeaders": "host",
            "X-Goog-Signature": signature,
        }
    elif (parsed.hostname or "").endswith(".blob.core.windows.net") or parsed.scheme == "az":
        base = url.split("?", 1)[0]
        expiry = datetime.strptime(date, _DATE).replace(tzinfo=UTC) + timedelta(seconds=expires)
        query = {
            "sv": "2023-11-03",
            "se": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "sr": "b",
            "sp": "r",
            "sig": signature,
        }
    else:
        base = (
            f"https://{bucket}.s3.amazonaws.com/{quote(key)}"
            if parsed.scheme == "s3"
            else url.split("?", 1)[0]
        )
        query = {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Credential": f"ENCORDEMULATOR/{date[:8]}/us-east-1/s3/aws4_request",
            "X-Amz-Date": date,
            "X-Amz-Expires": str(expires),
            "X-Amz-SignedHeaders": "host",
            "X-Amz-Signature": signature,
        }
    return f"{base}?{urlencode(query)}"


def _s3_error(status: int, code: str, message: str) -> Response:
    body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return Response(body, status, media_type="application/xml")


def routes(signer: UrlSigner, count: Callable[[str], None]) -> list[Route]:
    async def serve(request: Request) -> Response:
        count(f"{request.method} {ROUTE}/{{name}}")
        query = request.query_params
        fields = ("url", "X-Amz-Date", "X-Amz-Expires", "X-Amz-Signature")
        if any(name not in query for name in fields):
            return _s3_error(403, "AccessDenied", "Query-string authentication is required")
        problem = signer.check(*(query[name] for name in fields))
        if problem == "SignatureDoesNotMatch":
            return _s3_error(403, problem, "The request signature does not match")
        if problem is not None:
            return _s3_error(403, "AccessDenied", problem)
        where = signer.locate(query["url"])
        if isinstance(where, Path):
            if not where.is_file():
                return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
            return FileResponse(where)
        if where is None:
            return _s3_error(404, "NoSuchKey", "The object is not readable by the emulator.")
        opened = await run_in_threadpool(open_stream, where, request.headers.get("range"))
        if opened is None:
            return _s3_error(502, "BadGateway", f"the store of {query['url']} did not answer")
        status, headers, body = opened
        return StreamingResponse(body, status, headers)

    return [Route(ROUTE + "/{name:path}", serve, methods=["GET"])]
