"""`dagster-encord export PIPELINE.yaml`: one-off exports on the Dagster instance at
DAGSTER_HOME; a name that is not configured is an error listing the configured ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from dagster_encord.cli import main
from dagster_encord.emulator import EncordEmulator
from tests.exports.conftest import Labelled
from tests.exports.labelling import label

KEY_ENV = "TEST_EXPORT_SSH_KEY"


def pipeline_yaml(
    tmp_path: Path, emulator: EncordEmulator, labelled: Labelled, exports: list[dict[str, Any]]
) -> Path:
    (tmp_path / "bucket").mkdir(exist_ok=True)
    document = {
        "type": "dagster_encord.EncordPipeline",
        "attributes": {
            "name": "cams",
            "encord": {"ssh_private_key_env": KEY_ENV, "domain": emulator.domain},
            "ledger": {"url": f"sqlite:///{tmp_path / 'ledger.db'}"},
            "source": {"url": (tmp_path / "bucket").as_uri()},
            "registration": {"folder": "landing", "integration": "local"},
            "project": {"title": labelled.section.title, "ontology": labelled.section.ontology},
            "exports": exports,
        },
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_export_writes_the_named_export_and_snapshot_writes_every_row(
    labelled: Labelled,
    encord_emulator: EncordEmulator,
    encord_ssh_key: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(KEY_ENV, encord_ssh_key)
    label(labelled.project, labelled.train + labelled.val)
    out = tmp_path / "out"
    exports = [
        {
            "name": "train",
            "format": "json",
            "destination": (out / "train").as_uri(),
            "datasets": ["train"],
        },
        {
            "name": "val",
            "format": "json",
            "destination": (out / "val").as_uri(),
            "datasets": ["val"],
        },
    ]
    path = pipeline_yaml(tmp_path, encord_emulator, labelled, exports)
    home = ["--dagster-home", str(tmp_path / "home")]

    assert main(["export", str(path), "--name", "train", *home]) == 0
    printed = capsys.readouterr().out
    assert "train: 4 rows, 8 objects in 1 shards -> file://" in printed
    assert not (out / "val").exists()

    assert main(["export", str(path), "--name", "train", "--snapshot", *home]) == 0
    (snapshot,) = (out / "train").glob("snapshot-*/_manifest.json")
    manifest = json.loads(snapshot.read_text())
    assert (manifest["mode"], manifest["rows"]) == ("snapshot", 4)

    assert main(["status", str(path)]) == 0
    status = capsys.readouterr().out
    assert "export train: 2 runs, labels edited through 20" in status
    assert "export val: not run yet" in status

    assert main(["export", str(path), "--name", "nope", *home]) == 2
    assert "no export named 'nope'; configured: train, val" in capsys.readouterr().err
