from __future__ import annotations

from datetime import timedelta

from dagster_encord.planner import GroupRule, ManifestPlanner, PlannerConfig, plan_records

from .helpers import T0, record


def group_entries(plan_chunks: list) -> list[dict]:
    from dagster_encord.planner.manifest import entry

    return [entry(item) for chunk in plan_chunks for item in chunk.items]


def test_dicom_defaults_to_one_series_per_folder_in_natural_order() -> None:
    records = [record(f"s/p1/{n}.dcm") for n in (10, 2, 1)] + [record("s/p2/1.dcm")]
    plan = plan_records(records)
    entries = sorted(group_entries(plan.chunks), key=lambda e: e["title"])
    assert [e["title"] for e in entries] == ["s/p1", "s/p2"]
    assert [entries[0][f"objectUrl_{i}"].rsplit("/", 1)[1] for i in range(3)] == [
        "1.dcm",
        "2.dcm",
        "10.dcm",
    ]
    assert "createVideo" not in entries[0]


def test_group_by_prefix_and_sequence_flag() -> None:
    rule = GroupRule(kind="image_sequence", by="prefix", match="cams/*")
    records = [record(f"cams/{cam}_{n:04d}.jpg") for cam in ("left", "right") for n in (2, 1)]
    records.append(record("other/solo.jpg"))
    plan = plan_records(records, PlannerConfig(groups=(rule,)))
    entries = sorted(group_entries(plan.chunks), key=lambda e: e.get("title", ""))
    groups = [e for e in entries if "title" in e]
    assert [g["title"] for g in groups] == ["cams/left", "cams/right"]
    assert all(g["createVideo"] is True for g in groups)
    assert groups[0]["objectUrl_0"].endswith("left_0001.jpg")
    assert [e["objectUrl"] for e in entries if "objectUrl" in e] == [
        record("other/solo.jpg").object_url
    ]


def test_regex_group_with_order_capture() -> None:
    rule = GroupRule(
        kind="image_group",
        by="regex",
        pattern=r"^runs/(?P<group>run\d+)/f(?P<order>\d+)_",
        title="group {group} ({count})",
    )
    keys = ["runs/run1/f10_b.jpg", "runs/run1/f9_z.jpg", "runs/run1/f100_a.jpg"]
    plan = plan_records([record(k) for k in keys], PlannerConfig(groups=(rule,)))
    [entry] = group_entries(plan.chunks)
    assert entry["title"] == "group run1 (3)"
    assert entry["createVideo"] is False
    assert [entry[f"objectUrl_{i}"].rsplit("/", 1)[1] for i in range(3)] == [
        "f9_z.jpg",
        "f10_b.jpg",
        "f100_a.jpg",
    ]


def test_explicit_order_then_unlisted_in_natural_order() -> None:
    rule = GroupRule(
        kind="dicom_series", by="folder", order="explicit", explicit_order=("c.dcm", "a.dcm")
    )
    keys = ["s/a.dcm", "s/b2.dcm", "s/c.dcm", "s/b10.dcm"]
    plan = plan_records([record(k) for k in keys], PlannerConfig(groups=(rule,)))
    [entry] = group_entries(plan.chunks)
    assert [entry[f"objectUrl_{i}"].rsplit("/", 1)[1] for i in range(4)] == [
        "c.dcm",
        "a.dcm",
        "b2.dcm",
        "b10.dcm",
    ]


def test_quiet_period_holds_a_group_until_no_member_arrived_for_n_minutes() -> None:
    config = PlannerConfig(quiet_period_minutes=30)
    old = [record(f"done/{n}.dcm", last_modified=T0) for n in range(3)]
    fresh = [
        record("busy/1.dcm", last_modified=T0),
        record("busy/2.dcm", last_modified=T0 + timedelta(minutes=20)),
    ]
    singles = [record("img.jpg", last_modified=T0 + timedelta(minutes=20))]
    now = T0 + timedelta(minutes=40)
    plan = plan_records(old + fresh + singles, config, now=now)
    planned = {item.item_key for chunk in plan.chunks for item in chunk.items}
    assert planned == {"dicom_series:done", "img.jpg"}  # singles are never held
    [held] = plan.held
    assert held.item_key == "dicom_series:busy"
    assert held.keys == ("busy/1.dcm", "busy/2.dcm")
    assert held.ready_at == T0 + timedelta(minutes=50)
    # Exactly at the end of the quiet period the group is released.
    later = plan_records(old + fresh, config, now=T0 + timedelta(minutes=50))
    assert later.held == []
    assert {i.item_key for c in later.chunks for i in c.items} == {
        "dicom_series:done",
        "dicom_series:busy",
    }


def test_a_group_is_never_split_across_chunks() -> None:
    rule = GroupRule(kind="image_group", by="folder", match="g/*")
    records = [record(f"g/big/{n}.jpg") for n in range(25)]
    records += [record(f"g/s{n}/{m}.jpg") for n in range(30) for m in range(3)]
    config = PlannerConfig(groups=(rule,), budget={"image_group": 10})
    plan = plan_records(records, config)
    placements: dict[str, set[str]] = {}
    for chunk in plan.chunks:
        for item in chunk.items:
            placements.setdefault(item.item_key, set()).add(chunk.chunk_id)
        # Within budget, except a single group larger than the budget, which travels alone.
        assert chunk.url_count <= 10 or chunk.item_count == 1
    assert all(len(chunk_ids) == 1 for chunk_ids in placements.values())
    assert len(placements) == 31
    big = [c for c in plan.chunks if any(i.item_key == "image_group:g/big" for i in c.items)]
    assert big[0].item_count == 1 and big[0].url_count == 25


def test_series_at_the_bucket_root_still_gets_a_title() -> None:
    plan = plan_records([record("1.dcm"), record("2.dcm")])
    [entry] = group_entries(plan.chunks)
    assert entry["title"] == "1.dcm" and entry["objectUrl_1"].endswith("/2.dcm")


def test_folder_groups_are_chunked_while_the_listing_streams() -> None:
    """Keys under one folder are contiguous, so a series is complete when the stream leaves it:
    it need not wait (in memory) for the end of a million-file listing."""
    consumed = 0

    def stream() -> object:
        nonlocal consumed
        for series in range(200):
            for n in range(5):
                consumed += 1
                yield record(f"study/s{series:03d}/{n}.dcm")

    planner = ManifestPlanner(PlannerConfig(budget={"dicom_series": 20}))
    first = next(iter(planner.iter_chunks(stream(), presorted=True)))  # type: ignore[arg-type]
    assert first.lane == "dicom_series"
    assert consumed < 1000
    # The streamed plan equals the plan of the same records given all at once.
    records = [record(f"study/s{s:03d}/{n}.dcm") for s in range(200) for n in range(5)]
    streamed = list(
        ManifestPlanner(PlannerConfig(budget={"dicom_series": 20})).iter_chunks(
            iter(records), presorted=True
        )
    )
    whole = plan_records(records, PlannerConfig(budget={"dicom_series": 20})).chunks
    assert [c.chunk_id for c in streamed] == [c.chunk_id for c in whole]
