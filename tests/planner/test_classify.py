from __future__ import annotations

import pytest

from dagster_encord.planner import DataType, PlannerConfig, SkippedFile, plan_records
from dagster_encord.planner.classify import Classifier

from .helpers import record


@pytest.mark.parametrize(
    ("key", "content_type", "expected"),
    [
        ("a/photo.JPG", None, DataType.IMAGE),
        ("a/clip.mp4", None, DataType.VIDEO),
        ("a/song.wav", None, DataType.AUDIO),
        ("a/page.html", None, DataType.TEXT),
        ("a/doc.pdf", None, DataType.PDF),
        ("a/brain.nii.gz", None, DataType.NIFTI),
        ("a/brain.nii", None, DataType.NIFTI),
        ("a/slice.dcm", None, DataType.DICOM),
        # No known extension: the content type decides, exact type first, then the family.
        ("a/blob", "image/x-custom", DataType.IMAGE),
        ("a/blob", "application/dicom", DataType.DICOM),
        ("a/blob", "application/pdf; charset=binary", DataType.PDF),
        ("a/blob", "text/plain", DataType.TEXT),
    ],
)
def test_each_data_type(key: str, content_type: str | None, expected: DataType) -> None:
    assert Classifier().classify(record(key, content_type=content_type)) is expected


def test_unsupported_file_is_skipped_with_a_reason() -> None:
    plan = plan_records([record("a/archive.zip", content_type="application/zip")])
    assert plan.chunks == []
    [skipped] = plan.skipped
    assert isinstance(skipped, SkippedFile)
    assert skipped.key == "a/archive.zip"
    assert "'.zip'" in skipped.reason and "application/zip" in skipped.reason
    assert "extensions" in skipped.reason  # names the fix


def test_mapping_is_configurable() -> None:
    config = PlannerConfig.from_mapping({"extensions": {".raw": "image", ".mp4": "audio"}})
    plan = plan_records([record("x/frame.raw"), record("x/sound.mp4")], config)
    assert {chunk.lane for chunk in plan.chunks} == {"image", "audio"}
    assert plan.skipped == []
