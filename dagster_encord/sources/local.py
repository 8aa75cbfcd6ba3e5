"""A local folder as a source: `file:///absolute/path`. Used by the embedded default and tests.

Keys are `/`-separated paths relative to the folder and are listed in the same lexicographic
order as the clouds list them, so `start_after` behaves identically. `version` is
`<mtime_ns>-<size>`; object URLs are `file://` URIs (percent-encoded, RFC 8089).
"""

from __future__ import annotations

import mimetypes
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from dagster_encord.errors import (
    AccessDeniedError,
    BucketNotFoundError,
    ObjectNotFoundError,
    SourceError,
)
from dagster_encord.sources.base import READ_LIMIT, ObjectRecord
from dagster_encord.sources.diagnostics import check_size
from dagster_encord.sources.listing import PagedSource
from dagster_encord.sources.urls import encode_key


class LocalSource(PagedSource):
    """Files under a local directory."""

    def __init__(self, url: str, *, root: str | None = None) -> None:
        """`root` is the folder keys are relative to (the "bucket"); by default the URL's folder.

        With `root`, the rest of the URL's path is the prefix, as in `s3://bucket/prefix`.
        """
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise SourceError(f"{url!r} is not a local folder URL: use file:///absolute/path")
        self.url = url
        # Literal split: `#` and `?` are legal in file names.
        path = unquote(url.split("://", 1)[1].removeprefix("localhost"))
        self.root = Path(root) if root else Path(path)
        relative = Path(path).relative_to(self.root).as_posix() if root else "."
        if relative == ".":
            self.root_prefix = ""
        else:
            self.root_prefix = relative + ("/" if path.endswith("/") else "")

    def __repr__(self) -> str:
        return f"LocalSource({self.url!r})"

    def object_url(self, key: str) -> str:
        return f"file://{encode_key(str(self.root / key))}"

    def key_from_url(self, object_url: str) -> str:
        path = unquote(object_url.split("://", 1)[1])
        return Path(path).relative_to(self.root).as_posix()

    def _check_root(self) -> None:
        if not self.root.is_dir():
            raise BucketNotFoundError(
                f"folder {self.root} ({self.url}) does not exist: create it or fix the path"
            )
        if not os.access(self.root, os.R_OK | os.X_OK):
            raise AccessDeniedError(f"cannot read folder {self.root}: fix its permissions")

    def _record(self, key: str, path: Path) -> ObjectRecord | None:
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None  # deleted while listing
        return ObjectRecord(
            key=key,
            object_url=self.object_url(key),
            size=stat.st_size,
            version=f"{stat.st_mtime_ns}-{stat.st_size}",
            last_modified=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
            content_type=mimetypes.guess_type(key)[0],
        )

    def _walk(self, directory: Path, key_prefix: str) -> Iterator[tuple[str, Path]]:
        """(key, path) for every file below `directory`, in key order."""
        try:
            entries = list(os.scandir(directory))
        except PermissionError:
            raise AccessDeniedError(
                f"cannot read folder {directory}: fix its permissions"
            ) from None
        # A directory `d` contributes keys `d/...`, so it sorts as `d/` among its siblings.
        entries.sort(key=lambda entry: entry.name + "/" if entry.is_dir() else entry.name)
        for entry in entries:
            key = key_prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                yield from self._walk(Path(entry.path), key + "/")
            elif entry.is_file():
                yield key, Path(entry.path)

    def _raw_pages(
        self, prefix: str, start_after: str | None, page_size: int
    ) -> Iterator[list[ObjectRecord]]:
        self._check_root()
        directory = prefix[: prefix.rfind("/") + 1]
        start = self.root / directory
        if not start.is_dir():
            return
        page: list[ObjectRecord] = []
        for key, path in self._walk(start, directory):
            if not key.startswith(prefix) or (start_after is not None and key <= start_after):
                continue
            record = self._record(key, path)
            if record is not None:
                page.append(record)
            if len(page) >= page_size:
                yield page
                page = []
        if page:
            yield page

    def _delimited_pages(
        self, prefix: str, page_size: int
    ) -> Iterator[tuple[list[ObjectRecord], list[str]]]:
        self._check_root()
        directory = self.root / prefix[: prefix.rfind("/") + 1]
        if not directory.is_dir():
            return
        records: list[ObjectRecord] = []
        sub_prefixes: list[str] = []
        base = prefix[: prefix.rfind("/") + 1]
        for entry in sorted(os.scandir(directory), key=lambda entry: entry.name):
            key = base + entry.name
            if not key.startswith(prefix):
                continue
            if entry.is_dir(follow_symlinks=False):
                sub_prefixes.append(key + "/")
            elif entry.is_file() and (record := self._record(key, Path(entry.path))):
                records.append(record)
        yield records, sub_prefixes

    def read_bytes(self, key: str, max_bytes: int = READ_LIMIT) -> bytes:
        try:
            check_size(self.object_url(key), (self.root / key).stat().st_size, max_bytes)
            return (self.root / key).read_bytes()
        except FileNotFoundError:
            raise ObjectNotFoundError(
                f"{self.object_url(key)} does not exist: check the key"
            ) from None
        except PermissionError:
            raise AccessDeniedError(f"cannot read {self.root / key}: fix its permissions") from None

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> str:
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so readers never see a half-written manifest.
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, prefix=".tmp-") as handle:
            handle.write(data)
        os.replace(handle.name, target)
        return self.object_url(key)
