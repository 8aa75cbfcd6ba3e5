"""Does an object URL point at something Encord could register?

- Formats: a file extension that belongs to another data type (or none Encord reads) is an
  unsupported format. URLs without an extension pass (DICOM files often have none).
- Existence, where the emulator can reach the store: URLs on 127.0.0.1/localhost (moto and the
  other test emulators) are checked with one S3 ListObjectsV2 per (bucket, directory), falling back
  to HEAD requests on a bounded thread pool; a configured local root maps `bucket/key` to files.
  Real-cloud hosts cannot be reached here, so they count as existing.
"""

from __future__ import annotations

import posixpath
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
_S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def format_error(item_type: str, url: str) -> str | None:
    """Why `url` cannot be a `item_type`, or None when its format is acceptable."""
    name = posixpath.basename(unquote(urlparse(url).path))
    if "." not in name:
        return None
    extension = name.rsplit(".", 1)[1].lower()
    allowed = EXTENSIONS.get(item_type)
    if allowed is None or extension in allowed:
        return None
    return f"Unsupported format: expected {item_type}, got a '.{extension}' file"


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


@dataclass
class ObjectVerifier:
    """One per job: caches listings so a 100k-URL job costs one listing per directory."""

    enabled: bool = True
    local_root: Path | None = None
    workers: int = 16
    _listings: dict[tuple[str, str, str], dict[str, int] | None] = field(default_factory=dict)

    def check(self, urls: Iterable[str]) -> dict[str, tuple[str | None, int | None]]:
        """url -> (error or None, size in bytes when known)."""
        results: dict[str, tuple[str | None, int | None]] = {}
        remote: dict[tuple[str, str, str], list[tuple[str, str]]] = defaultdict(list)
        for url in urls:
            if not self.enabled:
                results[url] = (None, None)
                continue
            location = bucket_and_key(url)
            host = urlparse(url).hostname or ""
            if self.local_root is not None and location is not None and host not in LOCAL_HOSTS:
                results[url] = self._check_local(*location)
            elif (
                host in LOCAL_HOSTS
                and location is not None
                and urlparse(url).scheme in ("http", "https")
            ):
                origin = f"{urlparse(url).scheme}://{urlparse(url).netloc}"
                bucket, key = location
                directory = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
                remote[(origin, bucket, directory)].append((url, key))
            else:
                results[url] = (None, None)
        fallback: list[str] = []
        for (origin, bucket, directory), entries in remote.items():
            listing = self._list(origin, bucket, directory)
            if listing is None:
                fallback.extend(url for url, _ in entries)
                continue
            for url, key in entries:
                size = listing.get(key)
                results[url] = (MISSING, None) if size is None else (None, size)
        if fallback:
            with ThreadPoolExecutor(self.workers) as pool:
                for url, result in zip(fallback, pool.map(self._head, fallback), strict=True):
                    results[url] = result
        return results

    def _check_local(self, bucket: str, key: str) -> tuple[str | None, int | None]:
        assert self.local_root is not None
        path = self.local_root / bucket / key
        return (None, path.stat().st_size) if path.is_file() else (MISSING, None)

    def _list(self, origin: str, bucket: str, directory: str) -> dict[str, int] | None:
        cache_key = (origin, bucket, directory)
        if cache_key not in self._listings:
            self._listings[cache_key] = self._list_uncached(origin, bucket, directory)
        return self._listings[cache_key]

    @staticmethod
    def _list_uncached(origin: str, bucket: str, directory: str) -> dict[str, int] | None:
        """S3 ListObjectsV2 (anonymous); None when the store does not speak it."""
        sizes: dict[str, int] = {}
        token: str | None = None
        with requests.Session() as session:
            while True:
                params = {
                    "list-type": "2",
                    "prefix": directory,
                    "delimiter": "/",
                    "max-keys": "1000",
                }
                if token:
                    params["continuation-token"] = token
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
                if root.findtext(f"{_S3_NS}IsTruncated") != "true" or not token:
                    return sizes

    @staticmethod
    def _head(url: str) -> tuple[str | None, int | None]:
        try:
            response = requests.head(url, timeout=30)
        except requests.RequestException:
            return None, None  # unreachable: cannot tell, so not an error
        if response.status_code == 404:
            return MISSING, None
        length = response.headers.get("Content-Length")
        return None, int(length) if length and length.isdigit() else None
