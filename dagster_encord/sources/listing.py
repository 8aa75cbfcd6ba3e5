"""What every provider shares: prefix joining, filters, incremental bounds, fan-out, page sizes.

A provider subclasses `PagedSource` and implements three raw operations: `_raw_pages` (pages of
records under a prefix, in key order, starting after a key), `_delimited_pages` (one
`/`-delimited level: the objects directly under a prefix, and its sub-prefixes), and its I/O.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

from dagster_encord.sources.base import FanOut, ObjectRecord
from dagster_encord.sources.fanout import fan_out_pages
from dagster_encord.sources.filters import KeyFilter
from dagster_encord.sources.incremental import as_utc


class PagedSource(ABC):
    """Base class implementing `Source.list_pages` on top of a provider's raw listing."""

    url: str
    root_prefix: str

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
        """Yield pages of at most `page_size` records under `root_prefix + prefix`.

        `start_after` is a full key (exclusive, as S3's StartAfter); `modified_since` is inclusive
        so that objects sharing the boundary timestamp are never lost (see `ListingCursor`).
        Keys ending in `/` (folder placeholders) are skipped. With `fan_out`, sub-prefixes are
        listed in parallel by up to `max_workers` threads and pages of different prefixes
        interleave.
        """
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        full_prefix = self.root_prefix + prefix
        keep_key = KeyFilter(include, exclude, base=self.root_prefix)
        since = as_utc(modified_since) if modified_since is not None else None

        checks: list[Callable[[ObjectRecord], bool]] = []
        if start_after is not None:
            checks.append(lambda record: record.key > start_after)
        if since is not None:
            checks.append(lambda record: as_utc(record.last_modified) >= since)
        if include or exclude:
            checks.append(lambda record: keep_key(record.key))

        for page in self._pages(full_prefix, start_after, fan_out, page_size, max_workers):
            # Inline comprehensions: this runs once per key, millions of times per listing.
            kept = [
                record
                for record in page
                if record.key.startswith(full_prefix) and not record.key.endswith("/")
            ]
            if checks:
                kept = [record for record in kept if all(check(record) for check in checks)]
            for offset in range(0, len(kept), page_size):
                yield kept[offset : offset + page_size]

    def _pages(
        self,
        full_prefix: str,
        start_after: str | None,
        fan_out: FanOut,
        page_size: int,
        max_workers: int,
    ) -> Iterator[list[ObjectRecord]]:
        if fan_out is None:
            return self._raw_pages(full_prefix, start_after, page_size)

        def list_one(sub_prefix: str) -> Iterator[list[ObjectRecord]]:
            return self._raw_pages(sub_prefix, start_after, page_size)

        if fan_out == "auto":
            return self._auto_fan_out(full_prefix, start_after, page_size, max_workers)
        if isinstance(fan_out, str):
            raise ValueError(f"fan_out must be 'auto' or a list of sub-prefixes, got {fan_out!r}")
        return fan_out_pages([full_prefix + sub for sub in fan_out], list_one, max_workers)

    def _auto_fan_out(
        self, full_prefix: str, start_after: str | None, page_size: int, max_workers: int
    ) -> Iterator[list[ObjectRecord]]:
        sub_prefixes: list[str] = []
        for records, prefixes in self._delimited_pages(full_prefix, page_size):
            sub_prefixes.extend(p for p in prefixes if not _entirely_before(p, start_after))
            if records:
                yield records

        def list_one(sub_prefix: str) -> Iterator[list[ObjectRecord]]:
            return self._raw_pages(sub_prefix, start_after, page_size)

        yield from fan_out_pages(sub_prefixes, list_one, max_workers)

    @abstractmethod
    def _raw_pages(
        self, prefix: str, start_after: str | None, page_size: int
    ) -> Iterator[list[ObjectRecord]]:
        """Pages under `prefix` in key order, only keys after `start_after` if the API can."""

    @abstractmethod
    def _delimited_pages(
        self, prefix: str, page_size: int
    ) -> Iterator[tuple[list[ObjectRecord], list[str]]]:
        """One `/`-delimited level below `prefix`: pages of (objects at it, sub-prefixes)."""


def _entirely_before(sub_prefix: str, start_after: str | None) -> bool:
    """True when every key under `sub_prefix` sorts at or before `start_after`."""
    if start_after is None:
        return False
    return sub_prefix < start_after and not start_after.startswith(sub_prefix)
