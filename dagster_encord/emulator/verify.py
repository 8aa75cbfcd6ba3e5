"""Does an object URL point at something Encord could register?

- Formats: a file extension that belongs to another data type (or none Encord reads) is an
  unsupported format. URLs without an extension pass (DICOM files often have none).
- Existence, where the emulator can reach the store: URLs on 127.0.0.1/localhost (moto and the
  other test emulators) are checked with S3 ListObjectsV2 per (bucket, directory) when a job has
  many URLs there, else with one single-key listing per URL on a bounded thread pool (moto
  lists anonymously but refuses anonymous HEAD); HEAD is the fallback for stores that do not
  speak S3. A configured local root maps `bucket/key` to files (never a key with `..`).
  `locate` says where an object can be read; header reads and signed links use it. Only a definite
  "not found" counts as missing: a store that refuses anonymous reads (Azurite: 403) cannot tell.
  Real-cloud hosts cannot be reached here, so they count as existing.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

import requests

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
EXTENSIONS: dict[str, set[str]] = {
    "image": {"jpg", "jpeg", "png", "bmp", "tif", "tiff", "webp", "gif", "avif", "heic"},
    "video": {"mp4", "mov", "webm", "avi", "mkv", "m4v", "mpeg", "mpg", "ts"},
    "audio": {"mp3", "wav", "flac", "aac", "ogg", "m4a", "opus", "eac3"},
    "plainText": {"txt", "html", "htm", "md", "xml", "json", "csv", "tsv", "log", "yaml", "yml"},
    "pdf": {"pdf"},
    "nifti": {"nii", "gz"},
    "dicomSeries": {"dcm", "dicom"},
}
EXTENSIONS["imageGroup"] = EXTENSIONS["image"]
EXTENSIONS["imageSequence"] = EXTENSIONS["image"]
MISSING = "File not found"
LIST_THRESHOLD = 64  # fewer URLs than this in one directory: look each up instead of listing
LIST_PAGE = "10000"  # S3 caps pages at 1000; moto honours more, which saves it re-sorting keys
_S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def extension(url: str) -> str | None:
    """The lower-case file extension of the URL's object, without parsing the whole URL."""
    name = url.split("?", 1)[0].split("#", 1)[0].rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[1].lower() if "." in name else None


def format_error(item_type: str, url: str) -> str | None:
    """Why `url` cannot be a `item_type`, or None when its format is acceptable."""
    extension_ = extension(url)
    if extension_ is None:
        return None
    allowed = EXTENSIONS.get(item_type)
    if allowed is None or extension_ in allowed:
        return None
    return f"Unsupported format: expected {item_type}, got a '.{extension_}' file"


def bucket_and_key(url: str) -> tuple[str, str] | None:
    """(bucket, key) for the URL forms the sources layer produces, None if unknown."""
    parsed = urlparse(url)
    host = parsed.hostname or ""
    path = unquote(parsed.path.lstrip("/"))
    if parsed.scheme in ("s3", "gs", "az"):
        return host, path
    if ".s3." in host or host.endswith(".s3.amazonaws.com"):
        return host.split(".s3", 1)[0], path
    if (
        host.endswith(".blob.core.windows.net")
        or host in ("storage.cloud.google.com", "storage.googleapis.com")
        or host in LOCAL_HOSTS
    ):
        bucket, _, key = path.partition("/")
        return bucket, key
    return None


def _maybe_local(url: str) -> bool:
    """Cheap pre-check (no URL parsing) for the 100k-URL hot path."""
    return url.startswith(("http://", "https://")) and any(
        h in url for h in ("127.0.0.1", "localhost", "[::1]")
    )


@dataclass
class ObjectVerifier:
    """One per job: caches listings so a 100k-URL job costs one listing per directory."""

    enabled: bool = True
    local_root: Path | None = None
    workers: int = 16
    _listings: dict[tuple[str, str, str], dict[str, int] | None] = field(default_factory=dict)

    def locate(self, url: str) -> Path | str | None:
        """Where the emulator can read `url`: its file under the local root, the URL itself on a
        loopback store, or None (checking is off, or a real-cloud host it cannot reach)."""
        if not self.enabled or (self.local_root is None and not _maybe_local(url)):
            return None
        location = bucket_and_key(url)
        if location is None:
            return None
        parsed = urlparse(url)
        if (parsed.hostname or "") in LOCAL_HOSTS:
            return url if parsed.scheme in ("http", "https") else None
        if self.local_root is None:
            return None
        bucket, key = location
        if bucket in ("", ".", "..") or ".." in key.split("/"):
            return None  # `../../etc/passwd` must not reach outside the root
        return self.local_root / bucket / key

    def check(self, urls: Iterable[str]) -> dict[str, tuple[str | None, int | None]]:
        """url -> (error or None, size in bytes when known)."""
        results: dict[str, tuple[str | None, int | None]] = {}
        remote: dict[tuple[str, str, str], list[tuple[str, str]]] = defaultdict(list)
        for url in urls:
            where = self.locate(url)
            if where is None:
                results[url] = (None, None)  # cannot be reached from here: not an error
            elif isinstance(where, Path):
                results[url] = (None, where.stat().st_size) if where.is_file() else (MISSING, None)
            else:
                parsed = urlparse(url)
                bucket, key = bucket_and_key(url) or ("", "")
                directory = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
                remote[(f"{parsed.scheme}://{parsed.netloc}", bucket, directory)].append((url, key))
        singles: list[tuple[str, str, str, str]] = []  # (url, origin, bucket, key)
        for (origin, bucket, directory), entries in remote.items():
            if len(entries) < LIST_THRESHOLD:
                singles.extend((url, origin, bucket, key) for url, key in entries)
                continue
            listing = self._list(origin, bucket, directory)
            for url, key in entries:
                results[url] = self._lookup(listing, url, key)
        if singles:
            with ThreadPoolExecutor(self.workers) as pool:
                for (url, *_), result in zip(
                    singles, pool.map(self._check_one, singles), strict=True
                ):
                    results[url] = result
        return results

    def _check_one(self, entry: tuple[str, str, str, str]) -> tuple[str | None, int | None]:
        """One URL: list with the key itself as prefix (the key sorts first when it exists)."""
        url, origin, bucket, key = entry
        return self._lookup(
            _list_objects(origin, bucket, key, delimiter=None, one_page=True), url, key
        )

    @staticmethod
    def _lookup(
        listing: dict[str, int] | None, url: str, key: str
    ) -> tuple[str | None, int | None]:
        if listing is None:  # not an S3 store: ask it directly
            return _head(url)
        size = listing.get(key)
        return (MISSING, None) if size is None else (None, size)

    def _list(self, origin: str, bucket: str, directory: str) -> dict[str, int] | None:
        cache_key = (origin, bucket, directory)
        if cache_key not in self._listings:
            self._listings[cache_key] = _list_objects(
                origin, bucket, directory, "/", one_page=False
            )
        return self._listings[cache_key]


def _list_objects(
    origin: str, bucket: str, prefix: str, delimiter: str | None, one_page: bool
) -> dict[str, int] | None:
    """key -> size from S3 ListObjectsV2 (anonymous); None when the store does not speak it."""
    sizes: dict[str, int] = {}
    params = {"list-type": "2", "prefix": prefix, "max-keys": "1" if one_page else LIST_PAGE}
    if delimiter:
        params["delimiter"] = delimiter
    with requests.Session() as session:
        while True:
            try:
                response = session.get(f"{origin}/{quote(bucket)}", params=params, timeout=30)
                root = ET.fromstring(response.content) if response.status_code == 200 else None
            except (requests.RequestException, ET.ParseError):
                return None
            if root is None or root.tag != f"{_S3_NS}ListBucketResult":
                return None
            for contents in root.iter(f"{_S3_NS}Contents"):
                key = contents.findtext(f"{_S3_NS}Key") or ""
                sizes[key] = int(contents.findtext(f"{_S3_NS}Size") or 0)
            token = root.findtext(f"{_S3_NS}NextContinuationToken")
            if one_page or root.findtext(f"{_S3_NS}IsTruncated") != "true" or not token:
                return sizes
            params["continuation-token"] = token


def _head(url: str) -> tuple[str | None, int | None]:
    try:
        response = requests.head(url, timeout=30)
    except requests.RequestException:
        return None, None  # unreachable: cannot tell, so not an error
    if response.status_code == 404:
        return MISSING, None
    length = response.headers.get("Content-Length")
    return None, int(length) if length and length.isdigit() else None
