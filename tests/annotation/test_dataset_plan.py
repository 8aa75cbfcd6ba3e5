"""Dataset planning in plain Python: rules to desired links, desired against recorded links, the
heal of write-ahead marks, and the checks of `where:` against the metadata schema."""

from __future__ import annotations

import pytest

from dagster_encord.annotation.datasets import (
    Presence,
    RegisteredItem,
    check_rules,
    desired_links,
    heal,
    items_to_delete,
    plan_dataset,
)
from dagster_encord.config import DatasetRule
from dagster_encord.errors import ConfigError
from dagster_encord.ledger import DatasetLink, LinkState
from dagster_encord.metadata.schema import DeclaredSchema, enum, scalar

TRAIN = DatasetRule(title="train", include=["site A/**"], where={"split": "train"})
VAL = DatasetRule(title="val", include=["site B/**"])
EVERYTHING = DatasetRule(title="all")


def item(uuid: str, *keys: str, **metadata: object) -> RegisteredItem:
    return RegisteredItem(uuid, tuple(keys), metadata)


def linked(key: str, item_uuid: str, data_hash: str) -> DatasetLink:
    return DatasetLink(key, "ds", item_uuid, data_hash, LinkState.LINKED)


def test_rules_pick_items_by_key_glob_and_metadata() -> None:
    items = [
        item("i1", "cams/site A/1.jpg", split="train"),
        item("i2", "cams/site A/2.jpg", split="val"),
        item("i3", "cams/site B/3.jpg", split="train"),
        item("i4", "cams/site A/4.jpg"),
    ]
    desired = desired_links([TRAIN, VAL, EVERYTHING], items, prefix="cams/")
    assert desired["train"] == {"i1": ("cams/site A/1.jpg",)}
    assert desired["val"] == {"i3": ("cams/site B/3.jpg",)}
    assert set(desired["all"]) == {"i1", "i2", "i3", "i4"}


def test_a_group_is_one_item_matched_by_any_member_key() -> None:
    group = item("g", "cams/site A/seq/0.jpg", "cams/site A/seq/1.jpg", split="train")
    desired = desired_links([TRAIN], [group], prefix="cams/")
    assert desired["train"] == {"g": group.keys}


def test_booleans_are_not_numbers() -> None:
    rule = DatasetRule(title="flagged", where={"flag": True})
    items = [item("a", "a.jpg", flag=1), item("b", "b.jpg", flag=True)]
    assert desired_links([rule], items)["flagged"] == {"b": ("b.jpg",)}


def test_plan_links_new_items_and_adopts_new_members_of_linked_groups() -> None:
    desired = {"i1": ("a.jpg",), "g": ("s/0.jpg", "s/1.jpg")}
    recorded = [linked("s/0.jpg", "g", "row-g")]
    plan = plan_dataset(desired, recorded, {}, "keep")
    assert plan.link == {"i1": ("a.jpg",)}
    assert plan.adopt == [("s/1.jpg", "g", "row-g")]
    assert plan.unlink == {} and plan.drop == [] and plan.writes


def test_nothing_to_do_when_recorded_matches_desired() -> None:
    plan = plan_dataset(
        {"i1": ("a.jpg",)}, [linked("a.jpg", "i1", "row-1")], {"a.jpg": Presence.LIVE}, "delete"
    )
    assert not plan.writes and plan.adopt == [] and plan.drop == []


def test_an_item_no_longer_wanted_is_unlinked() -> None:
    recorded = [linked("a.jpg", "i1", "row-1")]
    plan = plan_dataset({}, recorded, {"a.jpg": Presence.LIVE}, "keep")
    assert plan.unlink == {"row-1": ("a.jpg",)}


@pytest.mark.parametrize(
    ("on_delete", "unlinked", "kept"), [("keep", {}, 1), ("unlink", {"row-1": ("a.jpg",)}, 0)]
)
def test_files_gone_from_the_bucket_follow_on_delete(
    on_delete: str, unlinked: dict[str, tuple[str, ...]], kept: int
) -> None:
    recorded = [linked("a.jpg", "i1", "row-1")]
    plan = plan_dataset({}, recorded, {"a.jpg": Presence.GONE}, on_delete)  # type: ignore[arg-type]
    assert plan.unlink == unlinked and plan.kept == kept


def test_links_of_files_on_their_way_back_are_left_alone() -> None:
    recorded = [linked("a.jpg", "i1", "row-1")]
    plan = plan_dataset({}, recorded, {"a.jpg": Presence.PENDING}, "delete")
    assert not plan.writes and plan.kept == 0


def test_a_deleted_group_member_only_drops_its_row() -> None:
    recorded = [linked("s/0.jpg", "g", "row-g"), linked("s/1.jpg", "g", "row-g")]
    presence = {"s/0.jpg": Presence.LIVE, "s/1.jpg": Presence.GONE}
    plan = plan_dataset({"g": ("s/0.jpg",)}, recorded, presence, "unlink")
    assert plan.drop == ["s/1.jpg"] and not plan.writes


def test_a_re_registered_file_swaps_its_item() -> None:
    recorded = [linked("a.jpg", "old", "row-old")]
    plan = plan_dataset({"new": ("a.jpg",)}, recorded, {"a.jpg": Presence.LIVE}, "keep")
    assert plan.unlink == {"row-old": ("a.jpg",)} and plan.link == {"new": ("a.jpg",)}


def test_planning_refuses_unhealed_marks() -> None:
    pending = [DatasetLink("a.jpg", "ds", "i1", None, LinkState.LINKING)]
    with pytest.raises(ValueError, match="heal"):
        plan_dataset({}, pending, {}, "keep")


def test_heal_settles_marks_from_the_dataset_rows() -> None:
    pending = [
        DatasetLink("a.jpg", "ds", "i1", None, LinkState.LINKING),
        DatasetLink("b.jpg", "ds", "i2", None, LinkState.LINKING),
        DatasetLink("c.jpg", "ds", "i3", "row-3", LinkState.UNLINKING),
        DatasetLink("d.jpg", "ds", "i4", "row-4", LinkState.UNLINKING),
    ]
    healed = heal(pending, {"i1": "row-1", "i3": "row-3"})
    assert healed.linked == [("a.jpg", "i1", "row-1")]
    assert healed.not_linked == ["b.jpg"]
    assert healed.still_there == ["row-3"] and healed.unlinked == ["row-4"]
    assert healed.count == 4


def test_items_to_delete_only_under_delete() -> None:
    gone = {"i1": {"b.jpg", "a.jpg"}}
    assert items_to_delete(gone, "unlink") == {}
    assert items_to_delete(gone, "delete") == {"i1": ("a.jpg", "b.jpg")}


SCHEMA = DeclaredSchema.of(enum("split", ["train", "val"]), scalar("camera", "varchar"))


def test_where_keys_must_be_declared_in_the_schema() -> None:
    rules = [VAL, DatasetRule(title="train", where={"spilt": "train"})]
    with pytest.raises(ConfigError) as raised:
        check_rules(rules, SCHEMA, has_metadata=True, pipeline="cams")
    message = str(raised.value)
    assert "datasets[1] (train).where: key 'spilt' is not declared" in message
    assert "declared: camera, split" in message


def test_where_values_are_checked_against_the_schema() -> None:
    rules = [DatasetRule(title="train", where={"split": "test"})]
    with pytest.raises(ConfigError, match=r"datasets\[0\] \(train\)\.where"):
        check_rules(rules, SCHEMA, has_metadata=True, pipeline="cams")
    check_rules([TRAIN], SCHEMA, has_metadata=True, pipeline="cams")
    check_rules([TRAIN], None, has_metadata=True, pipeline="cams")  # no schema: any key


def test_where_without_metadata_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="add a metadata: section"):
        check_rules([TRAIN], None, has_metadata=False, pipeline="cams")
    check_rules([VAL], None, has_metadata=False, pipeline="cams")
