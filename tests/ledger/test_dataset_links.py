"""Dataset links in the ledger, on SQLite and PostgreSQL: write-ahead marks around the link and
unlink calls, files `linked` while they have a link, and the checks on the link state column."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, StatementError

from dagster_encord.ledger import FileState, Ledger, LinkState
from dagster_encord.ledger import session as ledger_session

from .helpers import rec

DATASET = "ds-train"
OTHER = "ds-val"


def registered_ledger(url: str, keys: list[str]) -> Ledger:
    """Files registered, one item each (uuid = 'item-' + key)."""
    ledger = Ledger(url, pipeline="p")
    ledger.ingest([[rec(key) for key in keys]], "s3://bucket")
    [chunk] = ledger.plan().chunks
    ledger.mark_submitting(chunk.chunk_id)
    ledger.mark_submitted(chunk.chunk_id, "job-1")
    ledger.record_job_result(
        chunk.chunk_id, registered={f"s3://bucket/{key}": f"item-{key}" for key in keys}
    )
    return ledger


def test_link_then_unlink_with_write_ahead_marks(ledger_url: str) -> None:
    ledger = registered_ledger(ledger_url, ["a.jpg", "b.jpg", "c.jpg"])
    links = ledger.dataset_links
    assert links.mark_linking(DATASET, [("a.jpg", "item-a.jpg"), ("b.jpg", "item-b.jpg")]) == 2
    pending = links.links(DATASET, states=[LinkState.LINKING])
    assert [(link.key, link.data_hash) for link in pending] == [("a.jpg", None), ("b.jpg", None)]

    links.record_linked(
        DATASET, [("a.jpg", "item-a.jpg", "row-a"), ("b.jpg", "item-b.jpg", "row-b")]
    )
    assert links.links(DATASET, states=[LinkState.LINKING]) == []
    assert [(link.key, link.data_hash, link.state) for link in links.links()] == [
        ("a.jpg", "row-a", LinkState.LINKED),
        ("b.jpg", "row-b", LinkState.LINKED),
    ]
    assert links.sync_file_states() == (2, 0)
    assert ledger.counts()[FileState.LINKED] == 2
    assert ledger.counts().registered == 3  # linked files are still registered files
    assert ledger.counts().reconciles

    assert links.mark_unlinking(DATASET, ["row-a"]) == 1
    assert [link.key for link in links.links(DATASET, states=[LinkState.UNLINKING])] == ["a.jpg"]
    assert links.sync_file_states() == (0, 1)  # an unlinking row no longer links the file
    assert links.restore_linked(DATASET, ["row-a"]) == 1  # a heal found the row still there
    assert links.mark_unlinking(DATASET, ["row-a"]) == 1
    assert links.record_unlinked(DATASET, ["row-a"]) == 1
    assert [link.key for link in links.links(DATASET)] == ["b.jpg"]
    assert links.sync_file_states() == (0, 0)
    file_a, file_b = ledger.file("a.jpg"), ledger.file("b.jpg")
    assert file_a is not None and file_a.state == FileState.REGISTERED
    assert file_b is not None and file_b.state == FileState.LINKED


def test_links_are_per_dataset_and_a_key_is_rewritten_in_place(ledger_url: str) -> None:
    ledger = registered_ledger(ledger_url, ["a.jpg"])
    links = ledger.dataset_links
    links.record_linked(DATASET, [("a.jpg", "item-a.jpg", "row-1")])
    links.record_linked(OTHER, [("a.jpg", "item-a.jpg", "row-2")])
    links.record_linked(DATASET, [("a.jpg", "item-new", "row-3")])  # the key's item changed
    assert [(link.dataset_hash, link.item_uuid, link.data_hash) for link in links.links()] == [
        (DATASET, "item-new", "row-3"),
        (OTHER, "item-a.jpg", "row-2"),
    ]
    assert links.drop(OTHER, ["a.jpg"]) == 1
    assert [link.dataset_hash for link in links.links()] == [DATASET]
    # Another pipeline in the same database sees none of them.
    assert Ledger(ledger_url, pipeline="q").dataset_links.links() == []


def test_deleted_files_forget_their_deleted_items(ledger_url: str) -> None:
    ledger = registered_ledger(ledger_url, ["a.jpg", "b.jpg"])
    ledger.ingest([[rec("b.jpg")]], "s3://bucket")  # a.jpg is gone from the bucket
    assert ledger.dataset_links.forget_items(["a.jpg", "b.jpg"]) == 1  # only deleted files
    file_a, file_b = ledger.file("a.jpg"), ledger.file("b.jpg")
    assert file_a is not None and file_a.state == FileState.DELETED and file_a.item_uuid is None
    assert file_b is not None and file_b.item_uuid == "item-b.jpg"


def test_an_unknown_link_state_is_refused(ledger_url: str) -> None:
    ledger = registered_ledger(ledger_url, ["a.jpg"])
    with pytest.raises(StatementError, match="'linkd' is not a LinkState"):
        ledger.dataset_links._upsert(DATASET, [("a.jpg", "i", None)], "linkd")  # type: ignore[arg-type]
    ledger.dataset_links.record_linked(DATASET, [("a.jpg", "item-a.jpg", "row-a")])
    with (
        pytest.raises(IntegrityError),
        ledger_session.write(ledger.engine) as conn,
    ):
        conn.execute(text("UPDATE encord_dataset_links SET state = 'linkd'"))
