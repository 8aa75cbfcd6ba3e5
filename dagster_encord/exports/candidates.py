"""Which listed label rows an export run writes: the listing (with Encord's filters), then the
filters Encord has no parameter for, then the window (`window.py`).

An incremental export without a stage or status filter asks Encord only for rows edited since
its watermark. One with such a filter lists every row in the filter (rows enter it without an
edit) and asks the ledger which it has written at their listed edit time, 1,000 at a time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from dagster_encord.exports.selection import Selection
from dagster_encord.exports.window import Placement, as_utc, place, place_recorded, query_after
from dagster_encord.ledger import ExportState

if TYPE_CHECKING:
    from encord.objects import LabelRowV2

    from dagster_encord.encord_client.client import EncordClient

LOOKUP_BATCH = 1000
Recorded = Callable[[list[str]], dict[str, str]]  # label hashes -> edit time written at


@dataclass(frozen=True)
class Candidate:
    row: LabelRowV2
    placement: Placement
    edited: datetime  # as listed (UTC)


def by_membership(selection: Selection) -> bool:
    """Rows can enter this export's filter without an edit."""
    return bool(selection.query.task_statuses or selection.query.stage)


def list_rows(
    client: EncordClient, selection: Selection, state: ExportState, incremental: bool
) -> list[LabelRowV2]:
    after = query_after(state) if incremental and not by_membership(selection) else None
    query = replace(selection.query, edited_after=after)
    return client.label_rows(selection.project.project_hash, query)


def candidates(
    rows: list[LabelRowV2],
    selection: Selection,
    state: ExportState,
    recorded: Recorded | None,
) -> deque[Candidate]:
    """The rows to write (or re-check), in listing order. `rows` is emptied as it is read, so
    the listing is freed while the candidates are kept; `recorded` is None for the watermark."""
    kept: deque[Candidate] = deque()
    while rows:
        chunk = rows[-LOOKUP_BATCH:]
        del rows[-LOOKUP_BATCH:]
        listed = [row for row in chunk if _selected(row, selection)]
        written = recorded([str(row.label_hash) for row in listed]) if recorded else {}
        found = []
        for row in listed:
            assert row.last_edited_at is not None
            label_hash = str(row.label_hash)
            placement = (
                place_recorded(state, label_hash, row.last_edited_at, written.get(label_hash))
                if recorded is not None
                else place(state, label_hash, row.last_edited_at)
            )
            if placement is not Placement.BEFORE:
                found.append(Candidate(row, placement, as_utc(row.last_edited_at)))
        kept.extendleft(reversed(found))
    return kept


def _selected(row: LabelRowV2, selection: Selection) -> bool:
    if row.label_hash is None or row.last_edited_at is None:
        return False  # never labelled: nothing to export (reading it would create it)
    if selection.dataset_titles and row.dataset_title not in selection.dataset_titles:
        return False
    return not selection.label_statuses or row.label_status.value in selection.label_statuses
