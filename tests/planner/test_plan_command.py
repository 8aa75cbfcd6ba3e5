"""`dagster-encord plan` against a local folder (the file:// source)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from dagster_encord.cli import main
from dagster_encord.ledger import Ledger
from dagster_encord.planner import PlannerConfig
from dagster_encord.sources.local import LocalSource


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


def test_plan_with_a_ledger_previews_what_changed_and_stores_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_tree(tmp_path / "src")
    source = (tmp_path / "src").as_uri()
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    ledger = Ledger(url)  # the pipeline already ingested and planned the folder
    ledger.ingest(LocalSource(source).list_pages(), source)
    ledger.plan()
    before = (ledger.counts(), ledger.chunks_in_state())
    (tmp_path / "src" / "img" / "new.jpg").write_bytes(b"x")
    args = ["plan", source, "--ledger", url, "--format", "csv", "--out", str(tmp_path / "o")]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "1 new, 0 changed, 0 deleted, 6 unchanged" in printed
    [manifest] = (tmp_path / "o").glob("*.csv")
    assert manifest.read_text().splitlines()[1].endswith("new.jpg,")
    assert (ledger.counts(), ledger.chunks_in_state()) == before  # a dry run stores nothing
    # What the preview showed is what the pipeline then plans, under the same chunk id.
    ledger.ingest(LocalSource(source).list_pages(), source)
    [planned] = [c.chunk_id for c in ledger.plan(PlannerConfig(format="csv")).chunks]
    assert manifest.name == f"{planned}.csv"


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


def test_plan_an_s3_bucket_through_moto(
    s3_bucket: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint, bucket = s3_bucket
    s3 = boto3.client("s3", endpoint_url=endpoint)
    for key in ("a/1.jpg", "a/2.jpg", "scan/s/1.dcm", "scan/s/2.dcm", "v.mp4", "notes.bin"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"0123")
    out = tmp_path / "out"
    args = ["plan", f"s3://{bucket}", "--out", str(out), "--format", "csv"]
    assert main([*args, "--endpoint-url", endpoint]) == 0
    printed = capsys.readouterr().out
    assert "listed 6 files: 6 new" in printed and "notes.bin: unsupported" in printed
    rows = sorted(line for path in out.glob("*.csv") for line in path.read_text().splitlines()[1:])
    assert rows == sorted(
        [
            f"{endpoint}/{bucket}/a/1.jpg,",
            f"{endpoint}/{bucket}/a/2.jpg,",
            f"{endpoint}/{bucket}/scan/s/1.dcm,scan/s",
            f"{endpoint}/{bucket}/scan/s/2.dcm,scan/s",
            f"{endpoint}/{bucket}/v.mp4,",
        ]
    )


def test_malformed_source_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:  # argparse's usage error
        main(["plan", tmp_path.as_uri(), "--out", str(tmp_path), "--source-option", "oops"])
    assert exit_.value.code == 2 and "expected KEY=VALUE" in capsys.readouterr().err


def test_plan_packing_option_chooses_the_packing(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for n in range(300):
        (src / f"{n:04d}.jpg").write_bytes(b"x")
    (tmp_path / "planner.yaml").write_text("budget: {image: 20}\n")
    counts = {}
    for packing in ("dense", "stable"):
        out = tmp_path / packing
        args = ["plan", src.as_uri(), "--out", str(out), "--config", str(tmp_path / "planner.yaml")]
        assert main([*args, "--packing", packing]) == 0
        sizes = [len(json.loads(p.read_text())["images"]) for p in out.glob("*.json")]
        assert sum(sizes) == 300 and max(sizes) <= 20
        counts[packing] = len(sizes)
    # Dense fills chunks (>= 0.8 of 20 on average); stable leaves them about a third full.
    assert counts["dense"] <= 300 / (0.8 * 20) < counts["stable"]
