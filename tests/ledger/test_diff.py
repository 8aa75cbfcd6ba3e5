from __future__ import annotations

from datetime import timedelta

import pytest

from dagster_encord.errors import SourceError
from dagster_encord.ledger import FileState, Ledger
from dagster_encord.sources.base import ObjectRecord

from .helpers import T0, pages, rec


def test_new_changed_deleted_unchanged(ledger_url: str) -> None:
    ledger = Ledger(ledger_url, pipeline="p", batch_size=4)
    first = [rec(f"a/{n}.jpg") for n in range(10)]
    diff = ledger.ingest(pages(first), "s3://bucket")
    assert (diff.listed, diff.new, diff.changed, diff.deleted, diff.unchanged) == (10, 10, 0, 0, 0)

    second = first[1:]  # a/0 deleted
    second[0] = rec("a/1.jpg", version="v2")  # new etag
    second[1] = rec("a/2.jpg", size=999)  # same etag, new size
    second.append(rec("a/new.jpg"))
    diff = ledger.ingest(pages(second), "s3://bucket")
    assert (diff.listed, diff.new, diff.changed, diff.deleted, diff.unchanged) == (10, 1, 2, 1, 7)
    assert ledger.file("a/0.jpg").state == FileState.DELETED  # type: ignore[union-attr]
    assert ledger.file("a/1.jpg").version == "v2"  # type: ignore[union-attr]

    again = ledger.ingest(pages(second), "s3://bucket")
    assert (again.new, again.changed, again.deleted, again.unchanged) == (0, 0, 0, 10)

    back = ledger.ingest(pages([*second, rec("a/0.jpg")]), "s3://bucket")
    assert (back.new, back.deleted) == (1, 0)
    assert ledger.file("a/0.jpg").state == FileState.DISCOVERED  # type: ignore[union-attr]


def test_objects_sharing_a_last_modified_timestamp_are_never_lost(ledger_url: str) -> None:
    """A strict `>` watermark would drop b and c, which arrive later with the same timestamp."""
    ledger = Ledger(ledger_url, pipeline="p")
    tie = T0 + timedelta(hours=1)
    ledger.ingest([[rec("x/a.jpg", when=tie)]], "s3://bucket")
    later = [rec("x/a.jpg", when=tie), rec("x/b.jpg", when=tie), rec("x/c.jpg", when=tie)]
    diff = ledger.ingest([later], "s3://bucket")
    assert (diff.new, diff.unchanged) == (2, 1)
    # An incremental listing from the tie timestamp (inclusive) keeps them too, deletes nothing.
    partial = ledger.ingest([[rec("x/d.jpg", when=tie)]], "s3://bucket", complete=False)
    assert (partial.new, partial.deleted) == (1, 0)
    assert ledger.counts()[FileState.DISCOVERED] == 4


def test_duplicate_keys_in_one_listing_count_once(ledger_url: str) -> None:
    ledger = Ledger(ledger_url, pipeline="p")
    diff = ledger.ingest([[rec("k.jpg")], [rec("k.jpg"), rec("l.jpg")]], "s3://bucket")
    assert (diff.listed, diff.new) == (2, 2)


def test_pipelines_and_sources_are_scoped(ledger_url: str) -> None:
    cams = Ledger(ledger_url, pipeline="cams")
    scans = Ledger(ledger_url, pipeline="scans")
    cams.ingest([[rec("a.jpg"), rec("b.jpg")]], "s3://one")
    cams.ingest([[rec("z.jpg")]], "s3://two")
    scans.ingest([[rec("a.jpg")]], "s3://one")
    # A complete listing of s3://one without b deletes b only: not z (other source), not scans.
    diff = cams.ingest([[rec("a.jpg")]], "s3://one")
    assert diff.deleted == 1
    assert cams.file("z.jpg").state == FileState.DISCOVERED  # type: ignore[union-attr]
    assert scans.counts().listed == 1 and cams.counts().listed == 2


def test_awkward_keys_and_missing_versions_survive_bulk_loading(ledger_url: str) -> None:
    """Commas, quotes, newlines, tabs, unicode, the COPY null marker and None all round-trip."""
    keys = ["a,b.jpg", 'q"uote.jpg', "new\nline.jpg", "tab\there.jpg", "ünï/çødé.jpg", "\\N"]
    records = [rec(key) for key in keys]
    records.append(ObjectRecord("none.jpg", "s3://bucket/none.jpg", 5, None, T0, None))
    records.append(ObjectRecord("empty.jpg", "s3://bucket/empty.jpg", 5, "", T0, "image/jpeg"))
    # batch_size=3: the first and last batches take PostgreSQL's COPY path, the one holding
    # the marker-like key falls back to plain INSERTs.
    ledger = Ledger(ledger_url, pipeline="p", batch_size=3)
    assert ledger.ingest([records], "s3://bucket").new == len(records)
    assert ledger.ingest([records], "s3://bucket").unchanged == len(records)
    stored = {row.key: row for row in ledger.files_in_state()}
    assert sorted(stored) == sorted(r.key for r in records)
    assert stored["none.jpg"].version is None and stored["empty.jpg"].version == ""
    assert stored["\\N"].object_url == "s3://bucket/\\N"


def test_a_listing_that_fails_midway_changes_nothing(ledger_url: str) -> None:
    ledger = Ledger(ledger_url, pipeline="p")
    ledger.ingest([[rec(f"k/{n}.jpg") for n in range(5)]], "s3://bucket")

    def broken() -> object:
        yield [rec("k/0.jpg"), rec("k/new.jpg")]
        raise SourceError("listing s3://bucket failed: connection reset")

    with pytest.raises(SourceError):
        ledger.ingest(broken(), "s3://bucket")  # type: ignore[arg-type]
    # No file was marked deleted and the half-listed new file was not recorded.
    assert ledger.counts().by_state == {FileState.DISCOVERED: 5}
    assert ledger.ingest([[rec(f"k/{n}.jpg") for n in range(5)]], "s3://bucket").unchanged == 5


def test_preview_reports_the_diff_and_chunks_and_stores_nothing(ledger_url: str) -> None:
    ledger = Ledger(ledger_url, pipeline="p")
    ledger.ingest([[rec("a.jpg"), rec("b.jpg")]], "s3://bucket")
    ledger.plan()
    before = (ledger.counts(), ledger.chunks_in_state())
    seen: list[str] = []
    diff, outcome = ledger.preview(
        [[rec("a.jpg", version="v2"), rec("c.jpg")]],
        "s3://bucket",
        on_chunk=lambda planned, chunk: seen.append(planned.chunk_id),
    )
    assert (diff.new, diff.changed, diff.deleted) == (1, 1, 1)
    # a.jpg changed, so its unsubmitted chunk is superseded and re-planned with c.jpg.
    assert [c.file_count for c in outcome.chunks] == [2] and seen == [outcome.chunks[0].chunk_id]
    assert (ledger.counts(), ledger.chunks_in_state()) == before
