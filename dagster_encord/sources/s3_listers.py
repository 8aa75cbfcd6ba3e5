"""What the S3 listing engines share, so that `s3.py` and `s3_fast.py` need not import each other.

`S3Source` lists through a `Lister`: the boto3 engine (`s3.Boto3Lister`, which shares the client
and error translation with reads and writes) or the obstore engine (`s3_fast.ObstoreLister`).
The obstore engine gets the bucket as an `S3Bucket` of plain values, and borrows single boto3
pages and HEADs through a `Boto3Fallback`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from dagster_encord.sources.base import ObjectRecord

if TYPE_CHECKING:
    from boto3 import Session


class Lister(Protocol):
    """Lists one bucket in pages."""

    def pages(
        self, prefix: str, start_after: str | None, page_size: int
    ) -> Iterator[list[ObjectRecord]]:
        """Records under `prefix` in key order, after `start_after` (exclusive, as StartAfter)."""
        ...


class Boto3Fallback(Protocol):
    """What the obstore engine borrows from boto3: a page of keys `object_store` cannot
    represent, the error an obstore failure hides, and a HEAD."""

    def page_after(
        self, prefix: str, start_after: str | None, page_size: int
    ) -> tuple[list[ObjectRecord], bool]:
        """One ListObjectsV2 page; returns (records, more pages follow)."""
        ...

    def key_exists(self, key: str) -> bool:
        """HEAD one key (tells a zero-byte object from a folder placeholder)."""
        ...


@dataclass(frozen=True, slots=True)
class S3Bucket:
    """One bucket as a lister needs it: where it is, who signs, how often to try, its URLs."""

    url: str  # the source's URL, for messages
    bucket: str
    region: str
    endpoint_url: str | None
    default_endpoint: str  # the endpoint an "unreachable" message names
    max_attempts: int
    session: Session  # boto3's credential chain, which obstore reads too
    object_url: Callable[[str], str]
