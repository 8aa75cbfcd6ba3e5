"""CSV manifests follow seed 002's rules."""

from __future__ import annotations

import csv
import io

from dagster_encord.planner import GroupRule, PlannerConfig, plan_records
from dagster_encord.planner.manifest import ManifestItem, render_csv

from .helpers import record


def blocks(text: str) -> list[list[list[str]]]:
    """Split CSV rows into header-led blocks (a header starts with ObjectUrl, any case)."""
    result: list[list[list[str]]] = []
    for row in csv.reader(io.StringIO(text)):
        if row[0].lower() == "objecturl":
            result.append([row])
        else:
            result[-1].append(row)
    return result


def item(lane: str, keys: list[str], title: str | None = None) -> ManifestItem:
    return ManifestItem(
        lane=lane,
        item_key=keys[0],
        members=tuple(record(k, f"path/to/storage-location/{k}") for k in keys),
        title=title,
    )


def test_multiple_types_example_from_seed_002() -> None:
    """Two sequences, one group, one image, one video: a header per type change, and the
    'Create video' column everywhere because image sequences are present."""
    text = render_csv(
        [
            item("image_sequence", ["frame1.jpg", "frame2.jpg"], "Sequence 1"),
            item("image_sequence", ["frame3.jpg", "frame4.jpg"], "Sequence 2"),
            item("image_group", ["frame5.jpg", "frame6.jpg"], "Group 1"),
            item("image", ["frame1.jpg"], "Image 1"),
            item("video", ["video.mp4"], "Video 1"),
        ]
    )
    found = blocks(text)
    assert [[c.lower() for c in block[0]] for block in found] == [
        ["objecturl", "image group title", "create video"],
        ["objecturl", "image title", "create video"],
        ["objecturl", "video title", "create video"],
    ]
    assert found[0][1:] == [
        ["path/to/storage-location/frame1.jpg", "Sequence 1", "true"],
        ["path/to/storage-location/frame2.jpg", "Sequence 1", "true"],
        ["path/to/storage-location/frame3.jpg", "Sequence 2", "true"],
        ["path/to/storage-location/frame4.jpg", "Sequence 2", "true"],
        ["path/to/storage-location/frame5.jpg", "Group 1", "false"],
        ["path/to/storage-location/frame6.jpg", "Group 1", "false"],
    ]
    assert found[1][1:] == [["path/to/storage-location/frame1.jpg", "Image 1", "false"]]
    assert found[2][1:] == [["path/to/storage-location/video.mp4", "Video 1", "false"]]


def test_two_column_blocks_and_blank_default_titles() -> None:
    text = render_csv(
        [
            item("video", ["frame1.mp4"], "Video 1"),
            item("video", ["frame3.mp4"]),
            item("dicom_series", ["frame1.dcm", "frame2.dcm"], "dicom series 1"),
        ]
    )
    assert blocks(text) == [
        [
            ["ObjectUrl", "Video title"],
            ["path/to/storage-location/frame1.mp4", "Video 1"],
            ["path/to/storage-location/frame3.mp4", ""],
        ],
        [
            ["ObjectUrl", "Dicom title"],
            ["path/to/storage-location/frame1.dcm", "dicom series 1"],
            ["path/to/storage-location/frame2.dcm", "dicom series 1"],
        ],
    ]


def test_whitespace_in_url_is_rejected_for_csv_only() -> None:
    records = [record("a b.jpg", "https://b/a b.jpg"), record("ok.jpg")]
    csv_plan = plan_records(records, PlannerConfig(format="csv"))
    assert [s.key for s in csv_plan.skipped] == ["a b.jpg"]
    assert "whitespace" in csv_plan.skipped[0].reason
    assert [c.keys for c in csv_plan.chunks] == [["ok.jpg"]]
    assert plan_records(records, PlannerConfig(format="json")).skipped == []


def test_types_csv_cannot_carry_are_skipped_and_metadata_loss_is_reported() -> None:
    records = [record("a.mp3"), record("b.pdf"), record("c.jpg"), record("n.nii")]
    plan = plan_records(
        records, PlannerConfig(format="csv"), metadata_for=lambda r: {"camera": "x"}
    )
    assert sorted(s.key for s in plan.skipped) == ["a.mp3", "b.pdf", "n.nii"]
    assert all("format: json" in s.reason for s in plan.skipped)
    assert [c.filename.endswith(".csv") for c in plan.chunks] == [True]
    [warning] = plan.warnings
    assert "1 item(s) carry clientMetadata" in warning


def test_csv_chunks_stay_within_10000_rows() -> None:
    rule = GroupRule(kind="dicom_series", by="folder")
    records = [record(f"s/{n // 50}/{n}.dcm") for n in range(30_000)]
    config = PlannerConfig(format="csv", groups=(rule,), budget={"dicom_series": 1_000_000})
    plan = plan_records(records, config)
    assert sum(c.url_count for c in plan.chunks) == 30_000
    assert all(len(c.manifest_text().splitlines()) <= 10_001 for c in plan.chunks)
