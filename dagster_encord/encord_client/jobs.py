"""Upload-job values and unit-error classification (plain data, no SDK and no Dagster).

An upload job registers one manifest chunk. Polling it yields a `JobState`; every failed unit is a
`UnitFailure` classified as transient (worth retrying) or permanent (quarantine, do not retry).
`PollCursor` is what the job-status sensor keeps between polls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from dagster_encord.errors import CursorError
from dagster_encord.versioned import dump_versioned, load_versioned

JobStatus = Literal["PENDING", "DONE", "ERROR", "CANCELLED"]
ErrorKind = Literal["transient", "permanent"]

FINISHED_STATUSES: frozenset[str] = frozenset({"DONE", "ERROR", "CANCELLED"})
# Bump when `PollCursor`'s stored form changes; an older cursor then reads as unreadable.
POLL_CURSOR_VERSION = 1

# Words in Encord's unit-error messages that mean a retry cannot help: the object is gone, the
# integration may not read it, or the bytes are not a media file Encord accepts.
_PERMANENT = re.compile(
    r"not[ _-]?found|no such|does not exist|\b404\b|access[ _-]?denied|forbidden|\b403\b|"
    r"permission|unauthori[sz]ed|unsupported|not supported|invalid|corrupt|cannot decode|"
    r"could not decode|malformed|too large|exceeds|unknown format|bad request|\b400\b",
    re.IGNORECASE,
)
_URL = re.compile(r"\S+://\S+")
# Words that mean the failure was about the moment, not the file.
_TRANSIENT = re.compile(
    r"time[ ]?out|timed out|temporar|unavailable|throttl|rate limit|\b429\b|\b5\d\d\b|"
    r"connection|reset|try again|retry|internal error|busy",
    re.IGNORECASE,
)


def classify_unit_error(message: str) -> ErrorKind:
    """Classify one unit error by its message.

    Transient words win over permanent ones ("503 ... invalid response" is the server's problem).
    An unrecognised message counts as transient: it is retried until the attempts run out and is
    then quarantined, so nothing is lost and nothing loops forever.
    """
    # Object URLs in the message (bucket names, ports) must not look like status codes.
    text = _URL.sub(" ", message)
    if _TRANSIENT.search(text):
        return "transient"
    if _PERMANENT.search(text):
        return "permanent"
    return "transient"


@dataclass(frozen=True, slots=True)
class RegisteredItem:
    """A storage item an upload job created: its uuid and the title it was registered under."""

    item_uuid: str
    name: str


@dataclass(frozen=True, slots=True)
class UnitFailure:
    """One failed unit (an image, a video, an image group or a DICOM series)."""

    object_urls: tuple[str, ...]
    error: str
    kind: ErrorKind


@dataclass(frozen=True, slots=True)
class JobState:
    """What one poll of an upload job said.

    `rate_limited` is set when Encord answered 429 to the poll: the job's status is then unknown,
    `status` stays PENDING and `retry_after` says when to ask again.
    """

    upload_job_id: str
    status: JobStatus
    items: tuple[RegisteredItem, ...] = ()
    failures: tuple[UnitFailure, ...] = ()
    errors: tuple[str, ...] = ()
    units_pending: int = 0
    units_done: int = 0
    units_error: int = 0
    units_cancelled: int = 0
    rate_limited: bool = False
    retry_after: float | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES


@dataclass(frozen=True, slots=True)
class PollCursor:
    """State kept between job polls: no poll before `not_before` (epoch seconds; a 429's
    Retry-After). Stored as versioned JSON, like `ListingCursor`."""

    not_before: float = 0.0

    def to_json(self) -> str:
        return dump_versioned(
            POLL_CURSOR_VERSION, {"not_before": self.not_before} if self.not_before else {}
        )

    @classmethod
    def from_json(cls, text: str | None) -> PollCursor:
        """Parse `to_json` output; empty starts fresh; anything else raises `CursorError`."""
        if not text:
            return cls()
        try:
            data = load_versioned(text, POLL_CURSOR_VERSION)
            not_before = data.get("not_before", 0.0)
            if isinstance(not_before, bool) or not isinstance(not_before, int | float):
                raise ValueError(f"not_before {not_before!r} is not a number")
            return cls(float(not_before))
        except (ValueError, TypeError) as error:
            raise CursorError(f"not a job poll cursor: {error!s}") from None
