"""`ListingCursor` is stored as versioned JSON; anything else is a `CursorError`, never a crash."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dagster_encord.errors import CursorError
from dagster_encord.sources import ListingCursor

CURSOR = ListingCursor(datetime(2024, 3, 12, 8, 0, 0, 123456, tzinfo=UTC), frozenset({"a", "b"}))
STORED = CURSOR.to_json()

# What a sensor may find in its cursor: each must read as unreadable, not as some other state.
UNREADABLE = {
    "garbage": "not a cursor {",
    "truncated": STORED[: len(STORED) // 2],
    "other version": STORED.replace('"v":1', '"v":2'),
    "unversioned (before v1)": '{"watermark":"2024-03-12T08:00:00+00:00","keys_at_watermark":[]}',
    "not an object": "[1, 2]",
    "bad watermark": '{"v":1,"watermark":"yesterday","keys_at_watermark":[]}',
    "bad keys": '{"v":1,"watermark":null,"keys_at_watermark":"a"}',
    "missing keys": '{"v":1,"watermark":null}',
}


def test_round_trip_keeps_the_watermark_to_the_microsecond() -> None:
    assert '"v":1' in STORED
    assert ListingCursor.from_json(STORED) == CURSOR
    assert ListingCursor.from_json(ListingCursor().to_json()) == ListingCursor()


@pytest.mark.parametrize("text", [None, ""])
def test_no_cursor_starts_from_the_beginning(text: str | None) -> None:
    assert ListingCursor.from_json(text) == ListingCursor()


@pytest.mark.parametrize("text", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_unreadable_cursor_raises_cursor_error(text: str) -> None:
    with pytest.raises(CursorError, match="not a listing cursor"):
        ListingCursor.from_json(text)
