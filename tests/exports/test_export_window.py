"""The incremental window on a frozen emulator clock: Encord prints edit times to the second and
filters finer, so rows edited in one second on both sides of an export must be neither lost nor
duplicated, a row edited again in that second must come back, and a task moved into a stage
filter without an edit must join the next window."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dagster_encord.emulator import EncordEmulator
from dagster_encord.encord_client.client import EncordClient
from dagster_encord.ledger import Ledger
from tests.exports.conftest import Labelled
from tests.exports.labelling import label
from tests.exports.test_export_run import export

SECOND = "2025-06-02T10:00:00.250Z"


def rows(out: Path, window: int) -> list[str]:
    folder = out / f"window-{window:06d}"
    return [
        json.loads(line)["label_hash"]
        for shard in sorted(folder.glob("part-*.jsonl"))
        for line in shard.read_text().splitlines()
    ]


def test_two_rows_edited_in_one_second_around_an_export_are_each_exported_once(
    client: EncordClient,
    labelled: Labelled,
    ledger: Ledger,
    encord_emulator: EncordEmulator,
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"

    def run() -> Any:
        return export(client, labelled, ledger, out)

    a_hash, b_hash = labelled.train[:2]
    encord_emulator.freeze_clock(SECOND)  # 10:00:00.250
    (a,) = label(labelled.project, [a_hash])
    assert run().rows == 1

    encord_emulator.advance_clock(0.5)  # 10:00:00.750: the same printed second
    (b,) = label(labelled.project, [b_hash])
    second = run()
    assert (second.rows, second.unchanged, rows(out, 2)) == (1, 1, [b.label_hash])

    encord_emulator.advance_clock(0.1)  # a edited again within that second
    label(labelled.project, [a_hash], cars=0)
    third = run()
    assert (third.rows, rows(out, 3)) == (1, [a.label_hash])
    written = json.loads((out / "window-000003" / "part-00000.jsonl").read_text())
    assert len(written["object_answers"]) == 3

    quiet = run()
    assert (quiet.rows, quiet.manifest_url, quiet.unchanged) == (0, None, 2)

    encord_emulator.advance_clock(2)  # the next second: only the new edit
    (c,) = label(labelled.project, labelled.train[2:3])
    assert (run().rows, rows(out, 4)) == (1, [c.label_hash])


def test_a_task_completed_long_after_its_last_edit_joins_the_stage_export(
    client: EncordClient,
    labelled: Labelled,
    ledger: Ledger,
    encord_emulator: EncordEmulator,
    tmp_path: Path,
) -> None:
    out = tmp_path / "complete"

    def run() -> Any:
        return export(client, labelled, ledger, out, stage="Complete")

    encord_emulator.freeze_clock(SECOND)
    early, late = label(labelled.project, labelled.train[:2])
    early.workflow_complete()
    assert run().rows == 1

    encord_emulator.advance_clock(60)  # a later row moves the watermark a minute on
    (later,) = label(labelled.project, labelled.train[2:3])
    later.workflow_complete()
    assert (run().rows, rows(out, 2)) == (1, [later.label_hash])

    encord_emulator.advance_clock(60)
    late.workflow_complete()  # no label edit: its edit time is two minutes old
    assert (run().rows, rows(out, 3)) == (1, [late.label_hash])
    assert run().rows == 0
