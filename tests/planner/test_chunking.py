from __future__ import annotations

import random

import pytest

from dagster_encord.planner import GroupRule, PlannerConfig, plan_records
from dagster_encord.planner.chunking import (
    ANCHOR_SPAN_BUDGETS,
    Chunk,
    boundary_digest,
    boundary_score,
)
from dagster_encord.sources.base import ObjectRecord

from .helpers import record

STABLE = PlannerConfig(packing="stable")
DENSE = PlannerConfig(packing="dense")


def images(count: int, start: int = 0) -> list[ObjectRecord]:
    return [record(f"img/{n:07d}.jpg") for n in range(start, start + count)]


def membership(chunks: list[Chunk]) -> dict[str, frozenset[str]]:
    return {chunk.chunk_id: frozenset(chunk.keys) for chunk in chunks}


def is_anchor(key: str, urls: int = 1, budget: int = 1000) -> bool:
    return boundary_score(boundary_digest(key), 1) < urls / (ANCHOR_SPAN_BUDGETS * budget)


def test_default_budget_is_encords_advice_and_packing_is_dense() -> None:
    config = PlannerConfig()
    assert config.budget_for("image") == 1000
    assert config.budget_for("video") == 100
    assert config.packing == "dense"


@pytest.mark.parametrize("packing", ["dense", "stable"])
def test_budget_respected_and_every_file_in_exactly_one_chunk(packing: str) -> None:
    records = images(5000) + [record(f"vid/{n}.mp4") for n in range(450)]
    plan = plan_records(records, PlannerConfig(packing=packing))  # type: ignore[arg-type]
    seen: list[str] = []
    for chunk in plan.chunks:
        limit = 1000 if chunk.lane == "image" else 100
        assert 1 <= chunk.url_count <= limit
        seen += chunk.keys
    assert sorted(seen) == sorted(r.key for r in records)


@pytest.mark.parametrize("packing", ["dense", "stable"])
def test_same_input_same_chunks_whatever_the_order(packing: str) -> None:
    config = PlannerConfig(packing=packing)  # type: ignore[arg-type]
    records = images(3000)
    first = plan_records(records, config).chunks
    shuffled = records[:]
    random.Random(7).shuffle(shuffled)
    second = plan_records(shuffled, config).chunks
    assert [c.chunk_id for c in first] == [c.chunk_id for c in second]
    assert membership(first) == membership(second)
    assert [c.manifest_text() for c in first] == [c.manifest_text() for c in second]


def test_stable_one_added_file_changes_only_the_chunk_it_lands_in() -> None:
    base = images(4000, start=0)
    before = membership(plan_records(base, STABLE).chunks)
    rng = random.Random(11)
    for trial in range(20):
        extra = record(f"img/{rng.randrange(4000):07d}-added-{trial}.jpg")
        after = membership(plan_records([*base, extra], STABLE).chunks)
        gone = set(before) - set(after)
        assert len(gone) == 1, (trial, gone)
        [old] = gone
        new = set(after) - set(before)
        # The replaced chunk's files plus the new one make up the new chunk(s).
        assert frozenset().union(*(after[c] for c in new)) == before[old] | {extra.key}


def test_dense_one_added_file_changes_only_chunks_in_its_anchor_span() -> None:
    base = images(20_000)
    keys = sorted(r.key for r in base)
    before = plan_records(base, DENSE).chunks
    # Every chunk ends at or before an anchor, and every anchor ends its chunk.
    anchors = [k for k in keys if is_anchor(k)]
    assert len(anchors) >= 2
    ends = {chunk.keys[-1] for chunk in before}
    assert set(anchors) <= ends
    rng = random.Random(11)
    widest = 0
    for trial in range(20):
        extra = record(f"img/{rng.randrange(20_000):07d}-added-{trial}.jpg")
        after = plan_records([*base, extra], DENSE).chunks
        before_ids = {c.chunk_id for c in before}
        after_ids = {c.chunk_id for c in after}
        changed_before = [c for c in before if c.chunk_id not in after_ids]
        # The span: from the item after the last anchor below the new key, through the next
        # anchor at or above it (the end of the listing when there is none).
        lower = max((a for a in anchors if a < extra.key), default="")
        upper = min((a for a in anchors if a > extra.key), default="\U0010ffff")
        assert changed_before, trial  # the chunk it lands in changes
        for chunk in changed_before:
            assert lower < chunk.keys[0] and chunk.keys[-1] <= upper, (trial, chunk.keys[0])
            # Only the chunk holding the new key's position and those after it change.
            assert chunk.keys[-1] > extra.key, (trial, chunk.keys[-1])
        for chunk in after:
            if chunk.chunk_id not in before_ids:
                assert lower < chunk.keys[0] and chunk.keys[-1] <= upper
        # Everything outside the span is packed exactly as before.
        outside = [c.chunk_id for c in before if not lower < c.keys[0] <= upper]
        assert outside and set(outside) <= after_ids
        widest = max(widest, len(changed_before))
        assert sorted(k for c in after for k in c.keys) == sorted([*keys, extra.key])
    # The bound is the span, not the listing: far fewer chunks change than exist.
    assert widest < len(before) // 2


def test_dense_an_added_anchor_splits_its_span_and_touches_nothing_outside() -> None:
    base = images(20_000)
    before = plan_records(base, DENSE).chunks
    extra_key = next(key for n in range(100_000) if is_anchor(key := f"img/0010000-anchor-{n}.jpg"))
    after = plan_records([*base, record(extra_key)], DENSE).chunks
    anchors = [r.key for r in base if is_anchor(r.key)]
    lower = max(a for a in anchors if a < extra_key)
    upper = min((a for a in anchors if a > extra_key), default="\U0010ffff")
    assert any(c.keys[-1] == extra_key for c in after)  # the new anchor ends its chunk
    after_ids = {c.chunk_id for c in after}
    for chunk in before:
        if chunk.chunk_id not in after_ids:
            assert lower < chunk.keys[0] and chunk.keys[-1] <= upper


@pytest.mark.parametrize(("packing", "minimum"), [("dense", 0.8), ("stable", 0.25)])
def test_fill_on_uniform_keys(packing: str, minimum: float) -> None:
    records = [record(f"cam{n % 10}/img_{n:06d}.png") for n in range(10_000)]
    chunks = plan_records(records, PlannerConfig(packing=packing)).chunks  # type: ignore[arg-type]
    fill = sum(c.url_count for c in chunks) / (len(chunks) * 1000)
    assert fill >= minimum, (packing, fill, len(chunks))
    assert all(c.url_count <= 1000 for c in chunks)
    if packing == "dense":
        assert fill > 0.8 and len(chunks) <= 12  # 12 chunks: 36 Encord requests (issue 5)


def test_dense_groups_never_split_and_oversize_groups_travel_alone() -> None:
    rule = GroupRule(kind="image_group", by="folder")
    sizes = [*random.Random(3).choices(range(1, 40), k=300), 60, 75]
    records = [
        record(f"groups/g{g:04d}/f{n:03d}.jpg") for g, size in enumerate(sizes) for n in range(size)
    ]
    config = PlannerConfig(groups=(rule,), budget={"image_group": 50})
    chunks = plan_records(records, config).chunks
    seen: dict[str, str] = {}
    for chunk in chunks:
        assert chunk.lane == "image_group"
        for item in chunk.items:
            assert item.item_key not in seen  # one item, one chunk
            seen[item.item_key] = chunk.chunk_id
        if chunk.url_count > 50:
            assert chunk.item_count == 1
    assert len(seen) == len(sizes)
    assert sorted(k for c in chunks for k in c.keys) == sorted(r.key for r in records)
    fill = sum(min(c.url_count, 50) for c in chunks) / (len(chunks) * 50)
    assert fill >= 0.7, fill


@pytest.mark.parametrize("packing", ["dense", "stable"])
def test_a_changed_version_changes_that_chunks_id_only(packing: str) -> None:
    config = PlannerConfig(packing=packing)  # type: ignore[arg-type]
    base = images(2000)
    before = plan_records(base, config).chunks
    changed = [*base]
    changed[1234] = record(changed[1234].key, version="v2")
    after = plan_records(changed, config).chunks
    differing = {c.chunk_id for c in before} ^ {c.chunk_id for c in after}
    assert len(differing) == 2  # the old and the new id of the one chunk holding it
    assert [sorted(c.keys) for c in before] == [sorted(c.keys) for c in after]


@pytest.mark.parametrize("packing", ["dense", "stable"])
def test_namespace_separates_pipelines(packing: str) -> None:
    config = PlannerConfig(packing=packing)  # type: ignore[arg-type]
    records = images(10)
    [a] = plan_records(records, config, namespace="cams").chunks
    [b] = plan_records(records, config, namespace="scans").chunks
    assert a.keys == b.keys and a.chunk_id != b.chunk_id


@pytest.mark.parametrize("packing", ["dense", "stable"])
def test_csv_chunks_reach_but_never_pass_10000_rows(packing: str) -> None:
    config = PlannerConfig(format="csv", budget={"image": 500_000}, packing=packing)  # type: ignore[arg-type]
    records = images(30_001)
    chunks = plan_records(records, config).chunks
    assert max(c.url_count for c in chunks) <= 10_000
    assert sum(c.url_count for c in chunks) == 30_001
    if packing == "dense":
        assert max(c.url_count for c in chunks) == 10_000  # filled right up to the limit


def test_dense_chunks_end_full_or_at_an_anchor() -> None:
    budget = 7
    config = PlannerConfig(budget={"image": budget})
    chunks = plan_records(images(2000), config).chunks
    *inner, _last = chunks
    for chunk in inner:
        assert chunk.url_count == budget or is_anchor(chunk.keys[-1], budget=budget)
        assert chunk.url_count <= budget
    assert sum(c.url_count for c in chunks) / (len(chunks) * budget) >= 0.8


def test_unknown_packing_is_a_planning_error() -> None:
    from dagster_encord.errors import PlanningError
    from dagster_encord.planner.chunking import LaneChunker

    with pytest.raises(PlanningError, match=r"'tight'.*'dense', 'stable'"):
        LaneChunker("image", 10, packing="tight")  # type: ignore[arg-type]
