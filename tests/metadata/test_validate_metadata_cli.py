"""`dagster-encord validate-metadata` over a real local folder source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dagster_encord.cli import main

SCHEMA = """
unknown_keys: reject
keys:
  captured_at: datetime
  shard: number
  weather: {enum: [sunny, rainy]}
"""


@pytest.fixture
def bucket(tmp_path: Path) -> Path:
    root = tmp_path / "bucket"
    (root / "07").mkdir(parents=True)
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        (root / "07" / name).write_bytes(b"\xff\xd8")
    (root / "07" / "a.jpg.json").write_text(
        json.dumps({"captured_at": "2024-03-12T10:00:00Z", "weather": "sunny"})
    )
    (root / "07" / "b.jpg.json").write_text(json.dumps({"captured_at": "12/03/24"}))
    (root / "07" / "c.jpg.json").write_text("{not json")
    (tmp_path / "schema.yaml").write_text(SCHEMA)
    return root


def test_prints_every_violation_and_exits_non_zero(
    bucket: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "validate-metadata",
            bucket.as_uri(),
            "--schema",
            str(bucket.parent / "schema.yaml"),
            "--path-regex",
            r"(?P<shard>\d+)/[^/]+$",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 1
    lines = out.strip().splitlines()
    assert len(lines) == 2, out
    assert any(
        "b.jpg" in line and "'captured_at'" in line and "'12/03/24'" in line for line in lines
    )
    assert any("c.jpg" in line and "not valid JSON" in line for line in lines)
    assert "checked 3 files" in err and "2 errors in 2 files" in err


def test_clean_folder_exits_zero(bucket: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (bucket / "07" / "b.jpg.json").write_text(json.dumps({"weather": "rainy"}))
    (bucket / "07" / "c.jpg.json").unlink()
    code = main(
        ["validate-metadata", bucket.as_uri(), "--schema", str(bucket.parent / "schema.yaml")]
    )
    out, err = capsys.readouterr()
    assert (code, out) == (0, "")
    assert "checked 3 files" in err and "0 errors" in err


def test_mapping_file_values_are_coerced_to_schema_types(
    bucket: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (bucket / "meta.csv").write_text("key,shard,weather\n07/a.jpg,7,sunny\n07/b.jpg,x,foggy\n")
    code = main(
        [
            "validate-metadata",
            bucket.as_uri(),
            "--schema",
            str(bucket.parent / "schema.yaml"),
            "--sidecar",
            "none",
            "--mapping",
            "meta.csv",
        ]
    )
    out, _ = capsys.readouterr()
    assert code == 1
    assert "a.jpg" not in out
    assert "'shard' on " in out and "'x'" in out and "'foggy'" in out


def test_missing_schema_file_is_a_clear_error(
    bucket: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["validate-metadata", bucket.as_uri(), "--schema", "/nonexistent/schema.yaml"])
    _, err = capsys.readouterr()
    assert code == 2
    assert "/nonexistent/schema.yaml" in err and "cannot read" in err
