"""Record builders for planner tests."""

from __future__ import annotations

from datetime import UTC, datetime

from dagster_encord.sources.base import ObjectRecord

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def record(
    key: str,
    object_url: str | None = None,
    *,
    size: int = 100,
    version: str = "v1",
    content_type: str | None = None,
    last_modified: datetime = T0,
) -> ObjectRecord:
    return ObjectRecord(
        key=key,
        object_url=object_url or f"https://bucket.s3.eu-west-2.amazonaws.com/{key}",
        size=size,
        version=version,
        last_modified=last_modified,
        content_type=content_type,
    )
