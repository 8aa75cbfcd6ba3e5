"""Bucket events applied to the ledger: created objects as a partial listing, deleted ones as
deletions, in the caller's transaction.

Events can arrive late, twice or out of order. A created event older than what the ledger holds
for its key changes nothing, and so does a deletion older than the key's current version (a
create that overtook its delete). A redelivered event finds its key already in that state: the
diff of a listing is idempotent, so redelivery registers nothing twice.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, delete, exists, func, or_, select, update

from dagster_encord.ledger.listing import diff_listing, epoch, supersede
from dagster_encord.ledger.states import FileState
from dagster_encord.ledger.tables import files, listing_scratch


@dataclass(frozen=True, slots=True)
class Deletion:
    key: str
    event_time: datetime
    version: str | None = None  # the deleted version, when the event names it (GCS generation)


@dataclass(frozen=True, slots=True)
class EventDiff:
    """What a batch of events changed."""

    new: int
    changed: int
    deleted: int
    stale: int  # events older than the ledger's version of their key: ignored
    unchanged: int  # redelivered or repeated events


def drop_stale_creates(conn: Connection, pipeline: str) -> int:
    """Remove staged creates older than the ledger's version of their key."""
    s = listing_scratch
    newer = exists().where(
        files.c.pipeline == pipeline,
        files.c.key == s.c.key,
        files.c.last_modified > s.c.last_modified,
    )
    return int(conn.execute(delete(s).where(newer)).rowcount)


def apply_deletions(
    conn: Connection, pipeline: str, deleted: Sequence[Deletion]
) -> tuple[int, int]:
    """Mark deleted the keys whose deletion is not older than their version (and names their
    version, when it names one: GCS deletes non-current generations too); (deleted, stale)."""
    if not deleted:
        return 0, 0
    now = time.time()
    in_scope = and_(
        files.c.pipeline == pipeline,
        files.c.key == bindparam("b_key"),
        files.c.state != FileState.DELETED,
        files.c.last_modified <= bindparam("b_time"),
        or_(bindparam("b_version").is_(None), files.c.version == bindparam("b_version")),
    )
    batch = [
        {"b_key": d.key, "b_time": epoch(d.event_time), "b_version": d.version} for d in deleted
    ]
    chunk_ids = {
        row.chunk_id
        for params in batch
        for row in conn.execute(
            select(files.c.chunk_id).where(in_scope, files.c.state == FileState.PLANNED),
            params,
        )
    }
    supersede(conn, pipeline, sorted(chunk_ids), now)  # their other files are planned anew
    marked = int(
        conn.execute(
            update(files)
            .where(in_scope)
            # The deletion's time becomes the key's version time: a create it overtook is stale.
            .values(
                state=FileState.DELETED,
                chunk_id=None,
                updated_at=now,
                last_modified=bindparam("b_time"),
            ),
            batch,
        ).rowcount
    )
    keys = [d.key for d in deleted]
    stale = 0
    for start in range(0, len(keys), 1000):  # the rest had a newer version than the deletion
        stale += int(
            conn.execute(
                select(func.count()).where(
                    files.c.pipeline == pipeline,
                    files.c.key.in_(keys[start : start + 1000]),
                    files.c.state != FileState.DELETED,
                )
            ).scalar_one()
        )
    return marked, stale


def apply_events(
    conn: Connection,
    pipeline: str,
    source_url: str,
    listed: int,
    listing_id: str,
    deleted: Sequence[Deletion],
) -> EventDiff:
    """The staged creates (see `drop_stale_creates`) and the deletions, in one transaction."""
    stale_creates = drop_stale_creates(conn, pipeline)
    summary = diff_listing(
        conn, pipeline, source_url, listed - stale_creates, listing_id, complete=False
    )
    marked, stale_deletes = apply_deletions(conn, pipeline, deleted)
    return EventDiff(
        new=summary.new,
        changed=summary.changed,
        deleted=marked,
        stale=stale_creates + stale_deletes,
        unchanged=summary.unchanged,
    )
