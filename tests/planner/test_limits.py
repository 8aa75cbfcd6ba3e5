"""Encord's hard limits, exactly at the boundary and one over."""

from __future__ import annotations

import pytest

from dagster_encord.errors import ManifestLimitError, PlanningError
from dagster_encord.planner import GroupRule, PlannerConfig, plan_records
from dagster_encord.planner.limits import (
    MAX_CSV_ROWS,
    MAX_ITEMS_PER_MANIFEST,
    MAX_URL_BYTES,
    MAX_URLS_PER_MANIFEST,
    check_manifest_size,
)

from .helpers import record

PREFIX = "https://bucket.s3.amazonaws.com/"


def url_of_bytes(total: int) -> str:
    return PREFIX + "k" * (total - len(PREFIX))


def test_documented_values() -> None:
    assert (MAX_URLS_PER_MANIFEST, MAX_ITEMS_PER_MANIFEST, MAX_URL_BYTES, MAX_CSV_ROWS) == (
        1_000_000,
        500_000,
        16_384,
        10_000,
    )


def test_url_of_exactly_16_kb_passes_and_one_byte_more_is_rejected() -> None:
    at_limit = record("ok.jpg", url_of_bytes(16_384))
    over = record("too-long.jpg", url_of_bytes(16_385))
    neighbour = record("neighbour.jpg")
    plan = plan_records([at_limit, over, neighbour])
    planned = {key for chunk in plan.chunks for key in chunk.keys}
    assert planned == {"ok.jpg", "neighbour.jpg"}  # one bad file does not sink its chunk
    [skipped] = plan.skipped
    assert skipped.key == "too-long.jpg"
    assert "16,385 bytes" in skipped.reason and "16,384" in skipped.reason
    assert "shorten the key" in skipped.reason


def test_url_limit_counts_utf8_bytes() -> None:
    # 'é' is two bytes: 8,192 of them make exactly 16,384 bytes of URL.
    url = PREFIX + "é" * ((16_384 - len(PREFIX)) // 2)
    url += "k" * (16_384 - len(url.encode()))
    assert len(url.encode()) == 16_384
    assert plan_records([record("a.jpg", url)]).skipped == []
    assert plan_records([record("a.jpg", url + "é")]).skipped != []


def test_manifest_size_checks_at_the_boundary() -> None:
    check_manifest_size(1_000_000, 500_000)
    with pytest.raises(ManifestLimitError, match="1,000,001 URLs"):
        check_manifest_size(1_000_001, 1)
    with pytest.raises(ManifestLimitError, match="500,001 items"):
        check_manifest_size(500_001, 500_001)
    check_manifest_size(10_000, 10_000, csv=True)
    with pytest.raises(ManifestLimitError, match="10,001 rows"):
        check_manifest_size(10_001, 10_001, csv=True)


def test_budget_may_reach_but_not_pass_the_hard_limits() -> None:
    PlannerConfig(budget={"image_group": 1_000_000, "image": 500_000})
    with pytest.raises(PlanningError, match="1,000,001 URLs"):
        PlannerConfig(budget={"image_group": 1_000_001})
    with pytest.raises(PlanningError, match="500,001 items"):
        PlannerConfig(budget={"image": 500_001})


def test_csv_group_of_10000_rows_fits_and_10001_is_rejected_with_its_key() -> None:
    rule = GroupRule(kind="image_group", by="folder")
    fits = [record(f"g/fits/{n}.jpg") for n in range(10_000)]
    over = [record(f"g/over/{n}.jpg") for n in range(10_001)]
    config = PlannerConfig(format="csv", groups=(rule,), budget={"image_group": 10_000})
    plan = plan_records(fits + over, config)
    [chunk] = plan.chunks
    assert chunk.url_count == 10_000
    assert len(chunk.manifest_text().splitlines()) == 10_001  # header + 10,000 rows
    assert len(plan.skipped) == 10_001
    assert "'g/over' has 10,001 files" in plan.skipped[0].reason
