"""`dagster-encord plan` against a local folder (the file:// source)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dagster_encord.cli import main


def make_tree(root: Path) -> None:
    for rel in ("img/a.jpg", "img/b.png", "vid/c.mp4", "scan/s1/1.dcm", "scan/s1/2.dcm", "x.bin"):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"0123456789")


def test_plan_writes_manifests_and_prints_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_tree(tmp_path / "src")
    out = tmp_path / "out"
    assert main(["plan", (tmp_path / "src").as_uri(), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    manifests = {p.name.split("-")[0]: json.loads(p.read_text()) for p in out.glob("*.json")}
    assert set(manifests) == {"image", "video", "dicom_series"}
    assert len(manifests["image"]["images"]) == 2
    assert manifests["dicom_series"]["dicom_series"][0]["title"] == "scan/s1"
    assert "files skipped: 1" in printed and "x.bin: unsupported file type" in printed
    total = next(line for line in printed.splitlines() if line.startswith("total"))
    assert total.split()[1:] == ["4", "5", "3", "50"]  # items, files, chunks, bytes
    assert "nothing was sent to Encord" in printed
    assert (out / "skipped.tsv").read_text().splitlines()[1].startswith("x.bin\t")


def test_plan_with_a_ledger_plans_only_what_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_tree(tmp_path / "src")
    ledger = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    args = ["plan", (tmp_path / "src").as_uri(), "--ledger", ledger, "--format", "csv"]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    assert len(list((tmp_path / "one").glob("*.csv"))) == 3
    (tmp_path / "src" / "img" / "new.jpg").write_bytes(b"x")
    capsys.readouterr()
    assert main([*args, "--out", str(tmp_path / "two")]) == 0
    printed = capsys.readouterr().out
    assert "1 new, 0 changed, 0 deleted, 6 unchanged" in printed
    [manifest] = (tmp_path / "two").glob("*.csv")
    assert manifest.read_text().splitlines()[1].endswith("new.jpg,")


def test_bad_config_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "cfg.yaml").write_text("format: xml\n")
    code = main(
        [
            "plan",
            tmp_path.as_uri(),
            "--out",
            str(tmp_path / "o"),
            "--config",
            str(tmp_path / "cfg.yaml"),
        ]
    )
    assert code == 2
    assert "'format': got 'xml'" in capsys.readouterr().err
