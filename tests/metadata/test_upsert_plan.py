"""The upsert plan: inline for new files, patch or re-register for changed ones."""

from __future__ import annotations

import pytest

from dagster_encord.metadata.schema import DeclaredSchema, scalar
from dagster_encord.metadata.sources import group_metadata
from dagster_encord.metadata.upsert import (
    MetadataUpdate,
    merge_metadata,
    metadata_fingerprint,
    plan_upserts,
    reregister_manifest,
    verify_readback,
    with_inline_metadata,
)
from dagster_encord.metadata.validate import MetadataValidator

VALIDATOR = MetadataValidator(DeclaredSchema.of(scalar("score", "number"), unknown_keys="allow"))


def _updates(count: int) -> list[MetadataUpdate]:
    return [
        MetadataUpdate(f"s3://b/{i}.jpg", {"score": i}, item_uuid=f"item-{i}") for i in range(count)
    ]


def test_new_changed_unchanged_and_invalid_files_are_sorted() -> None:
    unchanged = MetadataUpdate(
        "s3://b/same.jpg",
        {"score": 1},
        item_uuid="item-same",
        previous_fingerprint=metadata_fingerprint({"score": 1}),
    )
    plan = plan_upserts(
        [
            MetadataUpdate("s3://b/new.jpg", {"score": 2}),
            MetadataUpdate("s3://b/changed.jpg", {"score": 3}, item_uuid="item-changed"),
            unchanged,
            MetadataUpdate("s3://b/bad.jpg", {"score": "high"}, item_uuid="item-bad"),
        ],
        validator=VALIDATOR,
    )
    assert [u.object_url for u in plan.inline] == ["s3://b/new.jpg"]
    assert plan.patch_batches == ({"item-changed": {"score": 3}},)
    assert plan.unchanged == ("s3://b/same.jpg",)
    assert [(v.file, v.key) for v in plan.rejected] == [("s3://b/bad.jpg", "score")]
    assert plan.url_by_item == {"item-changed": "s3://b/changed.jpg"}


def test_patches_are_batched_at_most_1000_per_request() -> None:
    plan = plan_upserts(_updates(2500))
    assert [len(batch) for batch in plan.patch_batches] == [1000, 1000, 500]
    assert plan.patch_count == 2500
    with pytest.raises(ValueError, match=r"1\.\.1000"):
        plan_upserts(_updates(1), batch_size=1001)


def test_reregister_manifest_carries_both_flags_and_inline_metadata() -> None:
    plan = plan_upserts(
        [
            MetadataUpdate("s3://b/v.mp4", {"score": 1}, item_uuid="v", data_type="videos"),
            MetadataUpdate("s3://b/i.jpg", {"score": 2}, item_uuid="i", title="i.jpg"),
        ],
        mode="reregister",
    )
    manifest = reregister_manifest(plan.reregister)
    assert manifest == {
        "videos": [{"objectUrl": "s3://b/v.mp4", "clientMetadata": {"score": 1}}],
        "images": [{"objectUrl": "s3://b/i.jpg", "title": "i.jpg", "clientMetadata": {"score": 2}}],
        "skip_duplicate_urls": True,
        "upsert_metadata": True,
    }
    assert not plan.patch_batches


def test_inline_entry_and_merge() -> None:
    assert with_inline_metadata({"objectUrl": "u"}, {"a": 1}) == {
        "objectUrl": "u",
        "clientMetadata": {"a": 1},
    }
    assert with_inline_metadata({"objectUrl": "u"}, {}) == {"objectUrl": "u"}
    assert merge_metadata({"a": 1, "b": 2}, {"b": 3, "c": 4}) == {"a": 1, "b": 3, "c": 4}


def test_fingerprint_ignores_key_order() -> None:
    assert metadata_fingerprint({"a": 1, "b": 2}) == metadata_fingerprint({"b": 2, "a": 1})
    assert metadata_fingerprint({"a": 1}) != metadata_fingerprint({"a": 2})


def test_verify_readback_merge_and_overwrite() -> None:
    sent = {"i1": {"a": 1}, "i2": {"a": 2}, "i3": {"a": 3}}
    stored = {"i1": {"a": 1, "kept": True}, "i2": {"a": "2"}}
    problems = verify_readback(sent, stored, mode="patch")
    assert set(problems) == {"i2", "i3"}
    assert "['a']" in problems["i2"] and "not found" in problems["i3"]
    overwrite = verify_readback({"i1": {"a": 1}}, {"i1": {"a": 1, "kept": True}}, mode="reregister")
    assert "differs" in overwrite["i1"]


def test_group_metadata_keeps_shared_keys_on_the_group() -> None:
    group, frames = group_metadata(
        [{"site": "A", "frame": 0}, {"site": "A", "frame": 1}, {"site": "A", "frame": 2}]
    )
    assert group == {"site": "A"}
    assert frames == [{"frame": 0}, {"frame": 1}, {"frame": 2}]
