from __future__ import annotations

import random

from dagster_encord.planner import PlannerConfig, plan_records
from dagster_encord.planner.chunking import Chunk

from .helpers import record


def images(count: int, start: int = 0) -> list:  # type: ignore[type-arg]
    return [record(f"img/{n:07d}.jpg") for n in range(start, start + count)]


def membership(chunks: list[Chunk]) -> dict[str, frozenset[str]]:
    return {chunk.chunk_id: frozenset(chunk.keys) for chunk in chunks}


def test_default_budget_is_encords_advice() -> None:
    config = PlannerConfig()
    assert config.budget_for("image") == 1000
    assert config.budget_for("video") == 100


def test_budget_respected_and_every_file_in_exactly_one_chunk() -> None:
    records = images(5000) + [record(f"vid/{n}.mp4") for n in range(450)]
    plan = plan_records(records)
    seen: list[str] = []
    for chunk in plan.chunks:
        limit = 1000 if chunk.lane == "image" else 100
        assert 1 <= chunk.url_count <= limit
        seen += chunk.keys
    assert sorted(seen) == sorted(r.key for r in records)


def test_same_input_same_chunks_whatever_the_order() -> None:
    records = images(3000)
    first = plan_records(records).chunks
    shuffled = records[:]
    random.Random(7).shuffle(shuffled)
    second = plan_records(shuffled).chunks
    assert membership(first) == membership(second)
    assert [c.manifest_text() for c in first] == [c.manifest_text() for c in second]


def test_one_added_file_changes_only_the_chunk_it_lands_in() -> None:
    base = images(4000, start=0)
    before = membership(plan_records(base).chunks)
    rng = random.Random(11)
    for trial in range(20):
        extra = record(f"img/{rng.randrange(4000):07d}-added-{trial}.jpg")
        after = membership(plan_records([*base, extra]).chunks)
        gone = set(before) - set(after)
        assert len(gone) == 1, (trial, gone)
        [old] = gone
        new = set(after) - set(before)
        # The replaced chunk's files plus the new one make up the new chunk(s).
        assert frozenset().union(*(after[c] for c in new)) == before[old] | {extra.key}


def test_a_changed_version_changes_that_chunks_id_only() -> None:
    base = images(2000)
    before = plan_records(base).chunks
    changed = [*base]
    changed[1234] = record(changed[1234].key, version="v2")
    after = plan_records(changed).chunks
    differing = {c.chunk_id for c in before} ^ {c.chunk_id for c in after}
    assert len(differing) == 2  # the old and the new id of the one chunk holding it
    assert [sorted(c.keys) for c in before] == [sorted(c.keys) for c in after]


def test_namespace_separates_pipelines() -> None:
    records = images(10)
    [a] = plan_records(records, namespace="cams").chunks
    [b] = plan_records(records, namespace="scans").chunks
    assert a.keys == b.keys and a.chunk_id != b.chunk_id
