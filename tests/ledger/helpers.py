from __future__ import annotations

from datetime import UTC, datetime

from dagster_encord.sources.base import ObjectRecord

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def rec(key: str, version: str = "v1", size: int = 100, when: datetime = T0) -> ObjectRecord:
    return ObjectRecord(key, f"s3://bucket/{key}", size, version, when, None)


def pages(records: list[ObjectRecord], page_size: int = 3) -> list[list[ObjectRecord]]:
    return [records[i : i + page_size] for i in range(0, len(records), page_size)]
