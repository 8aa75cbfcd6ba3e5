"""The neutral object record and the protocol every bucket provider implements."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

# `read_bytes` reads sidecars and mapping files, not media: larger objects are refused.
READ_LIMIT = 64 * 2**20

# `fan_out="auto"` discovers the sub-prefixes one level below the listed prefix.
FanOut = Sequence[str] | Literal["auto"] | None


@dataclass(frozen=True, slots=True)
class ObjectRecord:
    """One object in a bucket, the same shape for every cloud.

    `version` is the S3 ETag, the GCS generation, the Azure ETag, or a local mtime/size digest:
    whatever changes when the object's content changes.
    """

    key: str
    object_url: str
    size: int
    version: str | None
    last_modified: datetime
    content_type: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (ISO 8601 timestamp), as `dagster-encord list --jsonl` prints it."""
        return {
            "key": self.key,
            "object_url": self.object_url,
            "size": self.size,
            "version": self.version,
            "last_modified": self.last_modified.isoformat(),
            "content_type": self.content_type,
        }


class Source(Protocol):
    """A bucket (or folder) under a URL such as `s3://bucket/prefix`."""

    url: str

    def list_pages(
        self,
        prefix: str = "",
        *,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        start_after: str | None = None,
        modified_since: datetime | None = None,
        fan_out: FanOut = None,
        page_size: int = 1000,
        max_workers: int = 8,
    ) -> Iterator[list[ObjectRecord]]:
        """Yield pages of records; the whole listing is never held in memory."""
        ...

    def object_url(self, key: str) -> str:
        """The URL Encord should fetch this key from."""
        ...

    def key_from_url(self, object_url: str) -> str:
        """The inverse of `object_url`: the bucket key an object URL points at."""
        ...

    def read_bytes(self, key: str, max_bytes: int = ...) -> bytes:
        """Read one small object (a sidecar or mapping file), at most `max_bytes` (64 MiB)."""
        ...

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> str:
        """Write one object (a manifest or an export) and return its URL."""
        ...
