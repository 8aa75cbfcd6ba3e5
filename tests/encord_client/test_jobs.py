"""Unit-error classification: transient errors are retried, permanent ones quarantined."""

from __future__ import annotations

import pytest

from dagster_encord.encord_client.jobs import PollCursor, classify_unit_error
from dagster_encord.errors import CursorError

URL = "http://127.0.0.1:45503/test-5500a/frames/img_0001.png"


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        (f"File not found: {URL}", "permanent"),
        (f"Unsupported format: expected image, got a '.txt' file: {URL}", "permanent"),
        ("Access denied by the bucket policy", "permanent"),
        ("403 Forbidden", "permanent"),
        ("images[3].clientMetadata: invalid value for key 'split'", "permanent"),
        ("Service unavailable (503), try again", "transient"),
        (f"Timed out fetching {URL}", "transient"),
        ("connection reset by peer", "transient"),
        ("429 Too Many Requests", "transient"),
        ("internal error; invalid response from storage (502)", "transient"),
        ("something nobody has seen before", "transient"),
    ],
)
def test_classify_unit_error(message: str, kind: str) -> None:
    assert classify_unit_error(message) == kind


def test_status_codes_inside_urls_do_not_decide() -> None:
    # A bucket named like a 5xx code and a port like 404xx must not make the error transient.
    assert classify_unit_error("File not found: s3://bucket-503/a.png") == "permanent"
    assert classify_unit_error("Unsupported format: http://127.0.0.1:40400/x.bin") == "permanent"


# --- the job-status sensor's cursor -------------------------------------------------------------


def test_poll_cursor_round_trips_as_versioned_json() -> None:
    stored = PollCursor(1_700_000_000.25).to_json()
    assert stored == '{"v":1,"not_before":1700000000.25}'
    assert PollCursor.from_json(stored) == PollCursor(1_700_000_000.25)
    assert PollCursor.from_json(PollCursor().to_json()) == PollCursor()
    assert PollCursor.from_json(None) == PollCursor.from_json("") == PollCursor()


@pytest.mark.parametrize(
    "text",
    [
        "garbage",
        '{"v":1,"not_be',
        '{"v":2,"not_before":1}',
        '{"not_before":1700000000.0}',  # the unversioned form before v1
        '{"v":1,"not_before":"soon"}',
        "null",
    ],
)
def test_unreadable_poll_cursor_raises_cursor_error(text: str) -> None:
    with pytest.raises(CursorError, match="not a job poll cursor"):
        PollCursor.from_json(text)
