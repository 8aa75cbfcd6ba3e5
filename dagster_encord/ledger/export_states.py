"""`ExportStates`: the label-export watermarks of one pipeline (`ledger.export_states`).

An export reads its state before it lists label rows and saves the next one only after its
manifest is written, so a run killed in between redoes the same window.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Engine, and_, delete, insert, select, update

from dagster_encord.ledger import session
from dagster_encord.ledger.listing import insert_ignore
from dagster_encord.ledger.tables import export_rows, export_states

BATCH = 1000


@dataclass(frozen=True)
class ExportState:
    """Where an export stands: windows written, the newest `last_edited_at` exported (as Encord
    printed it) and the label hashes exported at exactly that time, with their digests."""

    sequence: int = 0
    edited_through: str | None = None
    boundary: dict[str, str] = field(default_factory=dict)
    manifest_url: str | None = None


class ExportStates:
    def __init__(self, engine: Engine, pipeline: str) -> None:
        self.engine = engine
        self.pipeline = pipeline

    def _row(self, export: str) -> ColumnElement[bool]:
        return and_(export_states.c.pipeline == self.pipeline, export_states.c.export == export)

    def get(self, export: str) -> ExportState:
        with session.read(self.engine) as conn:
            row = conn.execute(select(export_states).where(self._row(export))).first()
        if row is None:
            return ExportState()
        return ExportState(
            row.sequence, row.edited_through, json.loads(row.boundary), row.manifest_url
        )

    def recorded(self, export: str, label_hashes: Collection[str]) -> dict[str, str]:
        """The edit time each of these rows was written at, for those the export wrote."""
        hashes = list(label_hashes)
        found: dict[str, str] = {}
        in_export = and_(export_rows.c.pipeline == self.pipeline, export_rows.c.export == export)
        with session.read(self.engine) as conn:
            for start in range(0, len(hashes), BATCH):
                batch = hashes[start : start + BATCH]
                query = select(export_rows.c.label_hash, export_rows.c.edited_at).where(
                    in_export, export_rows.c.label_hash.in_(batch)
                )
                found.update({row.label_hash: row.edited_at for row in conn.execute(query)})
        return found

    def save(self, export: str, state: ExportState, rows: Sequence[tuple[str, str]] = ()) -> None:
        """The export's next state and, in the same transaction, the (label hash, edit time)
        of the rows it wrote (kept for exports with a stage or status filter)."""
        values = {
            "sequence": state.sequence,
            "edited_through": state.edited_through,
            "boundary": json.dumps(state.boundary, sort_keys=True),
            "manifest_url": state.manifest_url,
            "updated_at": time.time(),
        }
        with session.write(self.engine) as conn:
            conn.execute(
                insert_ignore(export_states, conn),
                [{"pipeline": self.pipeline, "export": export, **values}],
            )
            conn.execute(update(export_states).where(self._row(export)).values(**values))
            in_export = and_(
                export_rows.c.pipeline == self.pipeline, export_rows.c.export == export
            )
            for start in range(0, len(rows), BATCH):
                batch = rows[start : start + BATCH]
                hashes = [label_hash for label_hash, _ in batch]
                conn.execute(
                    delete(export_rows).where(in_export, export_rows.c.label_hash.in_(hashes))
                )
                conn.execute(
                    insert(export_rows),
                    [
                        {
                            "pipeline": self.pipeline,
                            "export": export,
                            "label_hash": h,
                            "edited_at": t,
                        }
                        for h, t in batch
                    ],
                )
