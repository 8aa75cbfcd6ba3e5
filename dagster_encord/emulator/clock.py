"""The emulator's clock: every record stamp (created_at, last_edited_at, task and event times)
reads it, so a test can freeze time and move it on instead of sleeping.

Real time by default. Request-signature and signed-URL expiry checks keep real time: the SDK
signs with its own clock.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def parse_instant(value: str | datetime) -> datetime:
    """An ISO 8601 string or datetime as an aware UTC datetime (naive means UTC)."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class Clock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frozen_at: datetime | None = None

    def now(self) -> datetime:
        frozen = self._frozen_at
        return frozen if frozen is not None else datetime.now(UTC)

    def now_iso(self) -> str:
        return self.now().strftime(ISO_FORMAT)

    @property
    def frozen_at(self) -> datetime | None:
        return self._frozen_at

    def freeze(self, at: str | datetime) -> None:
        """Stop the clock at `at` (ISO 8601; naive means UTC)."""
        instant = parse_instant(at)
        with self._lock:
            self._frozen_at = instant

    def advance(self, seconds: float) -> None:
        """Move a frozen clock on (seconds may be fractional, not negative)."""
        if seconds < 0:
            raise ValueError(f"the clock only moves forward; got advance of {seconds} s")
        with self._lock:
            if self._frozen_at is None:
                raise ValueError("the clock runs in real time; freeze it before advancing it")
            self._frozen_at += timedelta(seconds=seconds)

    def unfreeze(self) -> None:
        with self._lock:
            self._frozen_at = None

    def describe(self) -> dict[str, str | None]:
        frozen = self._frozen_at
        return {
            "frozenAt": frozen.strftime(ISO_FORMAT) if frozen is not None else None,
            "now": self.now_iso(),
        }
