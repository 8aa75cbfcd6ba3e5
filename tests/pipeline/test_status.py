"""`dagster-encord status`: the ledger's view of one pipeline."""

from __future__ import annotations

import re

import pytest

from dagster_encord.cli import main
from dagster_encord.quickstart.sample_media import png
from tests.pipeline.harness import Harness


def test_status_prints_counts_chunks_and_quarantine(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    harness.put({"s/ok.png": png(2, 2, (1, 1, 1)), "s/gone.png": png(2, 2, (2, 2, 2))})
    defs = harness.defs()
    result = harness.evaluate(defs, "new_objects")
    (request,) = result.run_requests or ()
    gone = next(u for u in _urls(harness, request.partition_key) if u.endswith("gone.png"))
    harness.emulator.fail_url(gone, "File not found")
    assert harness.run_chunk(defs, request.partition_key or "", request.run_key).success
    assert main(["status", "cams", "--ledger", harness.ledger_url]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^  registered +1$", out, re.MULTILINE)
    assert re.search(r"^  quarantined +1$", out, re.MULTILINE)
    assert "reconciles: True" in out
    assert "chunks: 1 completed" in out
    assert "quarantined s/gone.png: permanent: File not found" in out


def _urls(harness: Harness, chunk_id: str | None) -> list[str]:
    from dagster_encord.ledger import Ledger

    return Ledger(harness.ledger_url, pipeline=harness.name).chunk_object_urls(chunk_id or "")
