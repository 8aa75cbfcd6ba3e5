"""What a metadata upsert left on files: the fingerprint now registered, or the error it hit.

These writes never change a file's state. They run in the caller's write transaction;
`record_metadata_outcome` needs no pipeline lock (see `Ledger.record_metadata_outcome`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlalchemy import Connection, and_, bindparam, or_, update

from dagster_encord.ledger.queries import in_pipeline
from dagster_encord.ledger.states import FileState
from dagster_encord.ledger.tables import files

ERROR_MESSAGE_LIMIT = 2000


def set_metadata_hashes(
    conn: Connection, pipeline: str, hashes: Mapping[str, str | None], now: float
) -> int:
    """Set `metadata_hash` by key; returns the rows updated."""
    batch = [{"b_key": key, "b_hash": digest} for key, digest in hashes.items()]
    if not batch:
        return 0
    return int(
        conn.execute(
            update(files)
            .where(in_pipeline(pipeline), files.c.key == bindparam("b_key"))
            .values(metadata_hash=bindparam("b_hash"), updated_at=now),
            batch,
        ).rowcount
    )


def record_metadata_outcome(
    conn: Connection,
    pipeline: str,
    verified: Mapping[str, str],
    failed: Mapping[str, str],
    *,
    states: Collection[FileState],
    error_class: str,
) -> tuple[int, int]:
    """Fingerprints (clearing errors) and errors by object URL, for files in `states`."""
    # `in_` expands its values, which executemany refuses.
    in_scope = and_(
        in_pipeline(pipeline),
        files.c.object_url == bindparam("b_url"),
        or_(*(files.c.state == state for state in states)),
    )
    written = errors = 0
    if verified:
        written = conn.execute(
            update(files)
            .where(in_scope)
            .values(metadata_hash=bindparam("b_digest"), error_class=None, error_message=None),
            [{"b_url": url, "b_digest": digest} for url, digest in verified.items()],
        ).rowcount
    if failed:
        errors = conn.execute(
            update(files)
            .where(in_scope)
            .values(error_class=error_class, error_message=bindparam("b_message")),
            [
                {"b_url": url, "b_message": text[:ERROR_MESSAGE_LIMIT]}
                for url, text in failed.items()
            ],
        ).rowcount
    return int(written), int(errors)
