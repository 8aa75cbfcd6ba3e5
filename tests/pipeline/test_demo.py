"""`./scripts/demo --headless`: the whole quick start, once, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _headless_demo(state_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "AWS_"))}
    return subprocess.run(
        [sys.executable, "-m", "dagster_encord.cli", "demo", "--headless", "--dir", str(state_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_headless_demo_registers_every_sample_file(tmp_path: Path) -> None:
    result = _headless_demo(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "demo: 17 registered of 17 listed, 0 pending" in out
    assert "10 Encord items in folder 'demo-landing'" in out
    # Three datasets by rule (the sequence's 5 frames and 6 images, 2 videos, 4 DICOM slices)
    # and a workflow project on two of them: 7 items + 2 videos wait in its first stage.
    assert "linked [demo-images] 11" in out and "linked [demo-dicom] 4" in out
    assert "encord_project: " in out and "tasks_annotate_1 9" in out
    assert "check units_have_label_rows: passed" in out
    assert "check no_duplicate_urls: passed" in out
    assert "sequences/cam_front/frame_0000.png (+4 more files)" in out
    assert "dicom/series_001/slice_001.dcm (+3 more files)" in out
    assert "labelled 4 rows of project 'demo-labelling' through the SDK" in out
    assert "labels_json: 4 rows, 4 objects in 1 shards -> " in out
    assert "encord-demo/exports/labels_json/window-000001/_manifest.json" in out
    assert "coco_complete: 2 rows, 2 objects in 1 shards -> " in out
    assert (tmp_path / "dagster_home" / "dagster.yaml").read_text().startswith("telemetry:\n")
    # A second run on the same state registers nothing twice.
    again = _headless_demo(tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "demo: 17 registered of 17 listed" in again.stdout
    assert "; 0 runs (0 failed)" in again.stdout
    assert "labels_json: no label edits since " in again.stdout
