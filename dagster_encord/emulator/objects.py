"""Reading the objects the emulator can reach (see `ObjectVerifier.locate`).

Files under the local root are read directly. Objects on loopback test stores are fetched as an
Encord integration would: a GET signed with AWS SigV4. moto refuses anonymous GETs of private
objects but, without IAM enforcement, accepts any signature; a store that checks credentials
refuses, and the object then counts as unreadable (never as an error).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import requests

CHUNK = 64 * 1024
# The emulator stands in for Encord's integration role; test stores do not check these.
_ACCESS_KEY = "encord-emulator"
_SECRET_KEY = "encord-emulator-secret"
_sessions = threading.local()  # one connection pool per worker thread


def _session() -> requests.Session:
    session: requests.Session | None = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = requests.Session()
    return session


def signed_headers(url: str, headers: dict[str, str]) -> dict[str, str]:
    """`headers` plus a SigV4 Authorization for a GET of `url`."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="GET", url=url, headers=headers)
    S3SigV4Auth(Credentials(_ACCESS_KEY, _SECRET_KEY), "s3", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def read_range(where: Path | str, start: int, length: int) -> bytes | None:
    """Up to `length` bytes of the object from offset `start` (fewer at its end); None when it
    cannot be read."""
    if isinstance(where, Path):
        try:
            with where.open("rb") as file:
                file.seek(start)
                return file.read(length)
        except OSError:
            return None
    headers = signed_headers(where, {"Range": f"bytes={start}-{start + length - 1}"})
    try:
        with _session().get(where, headers=headers, stream=True, timeout=30) as response:
            if response.status_code == 416:  # Range Not Satisfiable: at or past the end
                return b""
            if response.status_code not in (200, 206) or (
                response.status_code == 200 and start > 0
            ):
                return None  # a store that ignores Range would send everything from 0
            data = bytearray()
            for chunk in response.iter_content(CHUNK):  # stop early if Range was ignored
                data += chunk
                if len(data) >= length:
                    break
            return bytes(data[:length])
    except requests.RequestException:
        return None


def read_head(where: Path | str, length: int) -> bytes | None:
    """The object's first `length` bytes (all of it when shorter); None when it cannot be read."""
    return read_range(where, 0, length)


def open_stream(
    where: Path | str, byte_range: str | None
) -> tuple[int, dict[str, str], Iterator[bytes]] | None:
    """(status, headers, body chunks) of a loopback object, forwarding a Range header; None
    when the store does not answer. Files are served by the caller (Starlette's FileResponse)."""
    assert isinstance(where, str)
    headers = signed_headers(where, {"Range": byte_range} if byte_range else {})
    try:
        response = requests.get(where, headers=headers, stream=True, timeout=30)
    except requests.RequestException:
        return None
    kept = {
        name: value
        for name, value in response.headers.items()
        if name.lower()
        in ("content-type", "content-length", "content-range", "etag", "last-modified")
    }

    def body() -> Iterator[bytes]:
        with response:
            yield from response.iter_content(CHUNK)

    return response.status_code, kept, body()
