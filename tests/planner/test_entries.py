"""Titles, metadata and per-file errors."""

from __future__ import annotations

import json

from dagster_encord.errors import MetadataValidationError
from dagster_encord.planner import PlannerConfig, plan_records
from dagster_encord.sources.base import ObjectRecord

from .helpers import record


def entries(plan_chunks: list) -> list[dict]:
    return [
        entry
        for chunk in plan_chunks
        for key, value in json.loads(chunk.manifest_text()).items()
        if isinstance(value, list)
        for entry in value
    ]


def test_default_title_is_omitted_so_encord_uses_the_path() -> None:
    [entry] = entries(plan_records([record("path/to/my/bucket/video23.mp4")]).chunks)
    assert entry == {"objectUrl": record("path/to/my/bucket/video23.mp4").object_url}


def test_title_template_fields() -> None:
    config = PlannerConfig(title_template="{folder}|{name}|{stem}|{suffix}|{key}")
    [entry] = entries(plan_records([record("a/b/scan.nii.gz")], config).chunks)
    assert entry["title"] == "a/b|scan.nii.gz|scan|.nii.gz|a/b/scan.nii.gz"


def test_encord_block_on_an_image_is_rejected_but_its_neighbours_register() -> None:
    def metadata(r: ObjectRecord) -> dict[str, object]:
        if r.key == "bad.jpg":
            return {"$encord": {"frames": [1]}}
        return {"ok": True}

    plan = plan_records([record("bad.jpg"), record("good.jpg")], metadata_for=metadata)
    assert [e["clientMetadata"] for e in entries(plan.chunks)] == [{"ok": True}]
    [skipped] = plan.skipped
    assert skipped.key == "bad.jpg" and "videos only" in skipped.reason


def test_invalid_keyframe_mode_is_rejected_with_its_key() -> None:
    plan = plan_records(
        [record("v.mp4")],
        metadata_for=lambda r: {"$encord": {"config": {"keyframe_mode": "minutes"}}},
    )
    assert plan.chunks == []
    assert "'minutes'" in plan.skipped[0].reason and "'v.mp4'" in plan.skipped[0].reason


def test_metadata_error_skips_only_that_file() -> None:
    def metadata(r: ObjectRecord) -> dict[str, object]:
        if r.key == "b.jpg":
            raise MetadataValidationError("metadata key 'captured_at' on b.jpg: expected datetime")
        return {"captured_at": "2024-01-01T00:00:00Z"}

    plan = plan_records([record("a.jpg"), record("b.jpg"), record("c.jpg")], metadata_for=metadata)
    assert [k for c in plan.chunks for k in c.keys] == ["a.jpg", "c.jpg"]
    assert "captured_at" in plan.skipped[0].reason


def test_group_with_one_bad_url_is_skipped_whole_with_every_member_reported() -> None:
    long_url = "https://b/" + "x" * 17_000
    records = [record("s/1.dcm"), record("s/2.dcm", long_url), record("t/1.dcm")]
    plan = plan_records(records)
    assert [i.item_key for c in plan.chunks for i in c.items] == ["dicom_series:t"]
    assert sorted(s.key for s in plan.skipped) == ["s/1.dcm", "s/2.dcm"]
    assert all("'s'" in s.reason and "s/2.dcm" in s.reason for s in plan.skipped)
