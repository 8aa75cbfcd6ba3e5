"""A process killed mid-export (SIGKILL after its first shard) leaves no manifest and no new
watermark; the next run redoes the window and writes the same shards, byte for byte."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dagster_encord.emulator import EncordEmulator
from dagster_encord.ledger import ExportState, Ledger
from tests.exports.conftest import Labelled
from tests.exports.labelling import label

EXPORT = """
import os, signal, sys
from dagster_encord.config import ExportSection
from dagster_encord.encord_client.client import EncordClient
from dagster_encord.exports import export_labels
from dagster_encord.ledger import Ledger
from dagster_encord.sources.local import LocalSource

out, ledger_url, kill_after = sys.argv[1], sys.argv[2], int(sys.argv[3])

class Killed(LocalSource):
    writes = 0
    def write_bytes(self, key, data, content_type=None):
        url = super().write_bytes(key, data, content_type)
        Killed.writes += 1
        if Killed.writes == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer or a lost node would
        return url

client = EncordClient.from_ssh_key(os.environ["KEY"], domain=os.environ["DOMAIN"])
section = ExportSection(name="x", format="json", destination=out, shard_rows=1)
export_labels(client, section, "cams-labelling", Killed(out),
              Ledger(ledger_url, pipeline="cams").export_states, pipeline="cams")
"""


def export(out: Path, ledger_url: str, kill_after: int, env: dict[str, str]) -> int:
    command = [sys.executable, "-c", EXPORT, out.as_uri(), ledger_url, str(kill_after)]
    return subprocess.run(command, env=env, timeout=120, check=False).returncode


def states(ledger_url: str) -> ExportState:
    ledger = Ledger(ledger_url, pipeline="cams")
    try:
        return ledger.export_states.get("x")
    finally:
        ledger.close()


def test_killed_after_the_first_shard_then_redone_identically(
    labelled: Labelled,
    encord_emulator: EncordEmulator,
    encord_ssh_key: str,
    tmp_path: Path,
) -> None:
    label(labelled.project, labelled.train)
    env = {**os.environ, "KEY": encord_ssh_key, "DOMAIN": encord_emulator.domain}
    ledger_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    out = tmp_path / "out"
    window = out / "window-000001"

    assert export(out, ledger_url, kill_after=2, env=env) == -9
    written = {p.name: p.read_bytes() for p in window.iterdir()}
    assert sorted(written) == ["part-00000.jsonl", "part-00001.jsonl"]
    assert states(ledger_url) == ExportState()

    assert export(out, ledger_url, kill_after=0, env=env) == 0
    manifest = json.loads((window / "_manifest.json").read_text())
    assert [s["key"].rsplit("/", 1)[-1] for s in manifest["shards"]] == [
        f"part-0000{n}.jsonl" for n in range(4)
    ]
    for name, data in written.items():
        assert (window / name).read_bytes() == data
    state = states(ledger_url)
    assert state.sequence == 1 and state.manifest_url == (window / "_manifest.json").as_uri()
    assert len(state.boundary) >= 1
