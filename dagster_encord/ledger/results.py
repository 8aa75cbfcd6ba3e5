"""The retry policy: what an upload job's per-URL outcome does to each file of its chunk.

Registered URLs take their item uuid. A failure whose class is permanent, or that uses up the
attempts, quarantines the file; any other failure is retried after an exponential backoff
(1 min, 2 min, 4 min, … capped at 1 h). A result for one member of a multi-file item applies to
every member. When the job has finished, files it did not mention fail as `missing_from_result`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dagster_encord.ledger.states import FileState

PERMANENT_ERROR_CLASSES: frozenset[str] = frozenset(
    {"permanent", "unsupported_format", "missing_object", "access_denied"}
)
RETRY_BASE_SECONDS = 60.0
RETRY_MAX_SECONDS = 3600.0
MISSING_FROM_RESULT = "missing_from_result"


@dataclass(frozen=True, slots=True)
class Member:
    key: str
    object_url: str
    item_key: str | None
    attempts: int


@dataclass
class ResultUpdates:
    """Rows for the executemany updates, and the counts for `JobOutcome`: files per new state,
    and how many of the errors are files a complete result did not mention."""

    registered: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter[FileState] = field(default_factory=Counter)
    unaccounted: int = 0
    unknown_urls: tuple[str, ...] = ()


def backoff_seconds(attempts: int) -> float:
    return min(RETRY_BASE_SECONDS * 2 ** (attempts - 1), RETRY_MAX_SECONDS)


def result_updates(
    members: Sequence[Member],
    registered: Mapping[str, str],
    failed: Mapping[str, tuple[str, str]],
    *,
    complete: bool,
    permanent: Collection[str],
    max_attempts: int,
    now: float,
) -> ResultUpdates:
    by_url = {member.object_url: member for member in members}
    updates = ResultUpdates(
        unknown_urls=tuple(url for url in [*registered, *failed] if url not in by_url)
    )
    item_uuid: dict[str | None, str] = {}
    item_error: dict[str | None, tuple[str, str]] = {}
    for url, uuid in registered.items():
        if url in by_url:
            item_uuid.setdefault(by_url[url].item_key, uuid)
    for url, failure in failed.items():
        if url in by_url:
            item_error.setdefault(by_url[url].item_key, failure)
    for member in members:
        url = member.object_url
        if url in registered or (url not in failed and member.item_key in item_uuid):
            uuid = registered.get(url) or item_uuid[member.item_key]
            updates.registered.append({"b_key": member.key, "b_uuid": uuid})
            updates.counts[FileState.REGISTERED] += 1
            continue
        error = failed.get(url) or item_error.get(member.item_key)
        if error is None:
            if not complete:
                continue
            error = (MISSING_FROM_RESULT, "the finished upload job did not report this file")
            updates.unaccounted += 1
        error_class, message = error
        attempts = member.attempts + 1
        quarantine = error_class in permanent or attempts >= max_attempts
        state = FileState.QUARANTINED if quarantine else FileState.FAILED
        updates.errors.append(
            {
                "b_key": member.key,
                "b_state": state,
                "b_attempts": attempts,
                "b_class": error_class,
                "b_message": message[:4000],
                "b_next": None if quarantine else now + backoff_seconds(attempts),
            }
        )
        updates.counts[state] += 1
    return updates
