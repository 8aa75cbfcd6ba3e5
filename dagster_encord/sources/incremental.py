"""Incremental listing state that survives timestamp ties.

A cursor keeps the newest `last_modified` seen (the watermark) and the keys seen AT that exact
timestamp. The next listing asks for objects modified at or after the watermark (inclusive) and
drops the keys already seen at it. A strict `>` on the timestamp (dagster-aws's S3 sensor) loses
objects that share the boundary second with the last object processed; this does not.

Objects whose timestamp is older than the watermark but which appear later (rare: clock skew,
multipart uploads that take minutes) are not seen by the cursor; the ledger's full diff catches
those.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dagster_encord.errors import CursorError
from dagster_encord.sources.base import FanOut, ObjectRecord, Source
from dagster_encord.versioned import dump_versioned, load_versioned

# Bump when the stored form changes; an older cursor then reads as unreadable and starts over.
CURSOR_VERSION = 1


@dataclass(frozen=True, slots=True)
class ListingCursor:
    """Serialisable incremental state: the watermark and the keys already seen at it."""

    watermark: datetime | None = None
    keys_at_watermark: frozenset[str] = field(default_factory=frozenset)

    def is_new(self, record: ObjectRecord) -> bool:
        """True when `record` was not covered by the listings that produced this cursor."""
        if self.watermark is None:
            return True
        modified = as_utc(record.last_modified)
        if modified != self.watermark:
            return modified > self.watermark
        return record.key not in self.keys_at_watermark

    def advance(self, records: Iterable[ObjectRecord]) -> ListingCursor:
        """The cursor after `records` have been processed (pages may arrive in any order)."""
        watermark = self.watermark
        keys = set(self.keys_at_watermark)
        for record in records:
            modified = as_utc(record.last_modified)
            if watermark is None or modified > watermark:
                watermark, keys = modified, {record.key}
            elif modified == watermark:
                keys.add(record.key)
        return ListingCursor(watermark, frozenset(keys))

    def to_json(self) -> str:
        """A compact, versioned string a Dagster sensor can store as its cursor."""
        return dump_versioned(
            CURSOR_VERSION,
            {
                "watermark": self.watermark.isoformat() if self.watermark else None,
                "keys_at_watermark": sorted(self.keys_at_watermark),
            },
        )

    @classmethod
    def from_json(cls, text: str | None) -> ListingCursor:
        """Parse `to_json` output; an empty or missing cursor starts from the beginning.

        Anything else (garbage, truncated JSON, another version, the old unversioned form)
        raises `CursorError`: the caller decides whether to start over.
        """
        if not text:
            return cls()
        try:
            data = load_versioned(text, CURSOR_VERSION)
            watermark, keys = data["watermark"], data["keys_at_watermark"]
            if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
                raise ValueError("keys_at_watermark is not a list of keys")
            return cls(
                as_utc(datetime.fromisoformat(watermark)) if watermark is not None else None,
                frozenset(keys),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise CursorError(f"not a listing cursor: {error!s}") from None


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC, so comparisons never mix naive and aware values."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def list_new_pages(
    source: Source,
    cursor: ListingCursor,
    prefix: str = "",
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    fan_out: FanOut = None,
    page_size: int = 1000,
    max_workers: int = 8,
) -> Iterator[list[ObjectRecord]]:
    """Pages of records `cursor` has not seen. Fold each page into the cursor with `advance`."""
    for page in source.list_pages(
        prefix,
        include=include,
        exclude=exclude,
        modified_since=cursor.watermark,
        fan_out=fan_out,
        page_size=page_size,
        max_workers=max_workers,
    ):
        fresh = [record for record in page if cursor.is_new(record)]
        if fresh:
            yield fresh
