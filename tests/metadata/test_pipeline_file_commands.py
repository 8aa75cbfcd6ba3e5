"""`plan` and `validate-metadata` given the pipeline's own file see what the pipeline sees: its
source and filters, its planner and its metadata providers (sidecars are metadata, not data)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from dagster_encord.quickstart.sample_media import png

ROOT = Path(__file__).resolve().parents[2]


def _bucket(tmp_path: Path) -> Path:
    data = tmp_path / "bucket"
    (data / "cams").mkdir(parents=True)
    for i, split in enumerate(("train", "val", "nope")):
        (data / "cams" / f"{i}.png").write_bytes(png(2, 2, (i, i, i)))
        (data / "cams" / f"{i}.png.json").write_text(json.dumps({"split": split}))
    (data / "other.png").write_bytes(png(2, 2, (9, 9, 9)))
    return data


def _pipeline(tmp_path: Path, bucket: Path) -> Path:
    (tmp_path / "schema.yaml").write_text("keys:\n  split: {enum: [train, val]}\n")
    path = tmp_path / "pipeline.yaml"
    attributes = {
        "name": "cams",
        "encord": {"ssh_private_key_env": "UNUSED_KEY"},
        "source": {"url": bucket.as_uri(), "prefix": "cams/"},
        "registration": {
            "folder": "f",
            "integration": "i",
            "planner": {"budget": {"image": 1}},
        },
        "metadata": {"schema": "schema.yaml", "sidecar": "append"},
    }
    path.write_text(
        yaml.safe_dump({"type": "dagster_encord.EncordPipeline", "attributes": attributes})
    )
    return path


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dagster_encord.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_plan_takes_the_pipeline_file(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path, _bucket(tmp_path))
    out = tmp_path / "out"
    done = _cli("plan", str(pipeline), "--out", str(out))
    assert done.returncode == 0, done.stderr
    manifests = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
    entries = [entry for manifest in manifests for entry in manifest.get("images", [])]
    # The prefix applies, sidecars are not planned (as text or anything), one image a chunk.
    assert len(manifests) == 2 and len(entries) == 2
    assert all("other.png" not in entry["objectUrl"] for entry in entries)
    assert not any(manifest.get("text") for manifest in manifests)
    # Metadata went inline, validated against the schema: the bad file is skipped, named.
    assert sorted(entry["clientMetadata"]["split"] for entry in entries) == ["train", "val"]
    assert "cams/2.png" in done.stdout and "split" in done.stdout


def test_validate_metadata_takes_the_pipeline_file(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path, _bucket(tmp_path))
    done = _cli("validate-metadata", str(pipeline))
    assert done.returncode == 1
    assert "cams/2.png" in done.stdout and "'nope'" in done.stdout
    assert "checked 3 files" in done.stderr and "1 errors in 1 files" in done.stderr
