"""The incremental window: which listed label rows an export writes, and the watermark after.

Encord prints `last_edited_at` to the second but filters `edited_after` more finely, so two rows
edited in the same second can land on either side of one export. The watermark is therefore the
newest printed time exported plus the rows exported at exactly that time, with a digest of what
was written (as the listing cursor keeps the keys at its boundary). The next export asks Encord
for rows edited since one second before the watermark and keeps:
- rows printed after the watermark;
- rows printed at the watermark that are not in the boundary (edited after the last export
  within that second), or whose content no longer matches its digest.
The watermark only moves with listed times, never with the time of a version read later, so an
edit made while an export runs is never skipped.

A row can also enter a stage or status filter without an edit (its task moved to Complete), which
no watermark sees. Exports with such a filter list every row in the filter and keep those they
have not written at the listed edit time (`place_recorded`, the ledger's `encord_export_rows`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from dagster_encord.ledger import ExportState


class Placement(StrEnum):
    BEFORE = "before"  # exported by an earlier window
    NEW = "new"  # edited since the watermark
    RECHECK = "recheck"  # at the watermark and exported then: written only if changed


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def query_after(state: ExportState) -> str | None:
    """The `edited_after` sent to Encord: a second before the watermark (see the docstring)."""
    if state.edited_through is None:
        return None
    return (datetime.fromisoformat(state.edited_through) - timedelta(seconds=1)).isoformat()


def place(state: ExportState, label_hash: str, edited_at: datetime | None) -> Placement:
    if state.edited_through is None:
        return Placement.NEW
    if edited_at is None:
        return Placement.BEFORE
    watermark = datetime.fromisoformat(state.edited_through)
    moment = as_utc(edited_at)
    if moment > watermark:
        return Placement.NEW
    if moment < watermark:
        return Placement.BEFORE
    return Placement.RECHECK if label_hash in state.boundary else Placement.NEW


def place_recorded(
    state: ExportState, label_hash: str, edited_at: datetime, recorded: str | None
) -> Placement:
    """`place` for an export whose stage or status filter a row can enter without an edit: the
    row is new unless this export already wrote it at this edit time."""
    if recorded is None:
        return Placement.NEW
    moment, written = as_utc(edited_at), datetime.fromisoformat(recorded)
    if moment > written:
        return Placement.NEW
    if moment == written and label_hash in state.boundary:
        return Placement.RECHECK
    return Placement.BEFORE


def digest(label_dict: Mapping[str, Any]) -> str:
    """What identifies a written version of a label row."""
    text = json.dumps(label_dict, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class WatermarkTracker:
    """Collects the (listed time, label hash, digest) of each row an export writes."""

    def __init__(self, state: ExportState) -> None:
        self.state = state
        self.newest = datetime.fromisoformat(state.edited_through) if state.edited_through else None
        self.at_newest = dict(state.boundary)

    def unchanged(self, label_hash: str, content_digest: str) -> bool:
        """A RECHECK row whose content is what the last export wrote."""
        return self.state.boundary.get(label_hash) == content_digest

    def add(self, edited_at: datetime, label_hash: str, content_digest: str) -> None:
        listed = as_utc(edited_at)
        if self.newest is None or listed > self.newest:
            self.newest, self.at_newest = listed, {}
        if listed == self.newest:
            self.at_newest[label_hash] = content_digest

    def next_state(self, manifest_url: str | None, sequence: int) -> ExportState:
        through = self.newest.isoformat() if self.newest is not None else None
        return ExportState(sequence, through, dict(self.at_newest), manifest_url)
