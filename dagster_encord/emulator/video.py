"""Video sizes, frame rate, duration and frame count from the container header, with PyAV.

PyAV reads through `RangeFile`, which fetches only the blocks it asks for: the start of the file
and, for an MP4 whose `moov` box was written last, a block or two at the end (measured: 2-4
reads of 32 KiB). No frame is decoded. A read budget bounds what one object may cost.
PyAV is the optional extra `media`; without it videos keep their sizes unknown.
"""

from __future__ import annotations

import io
import logging
from fractions import Fraction
from pathlib import Path
from typing import Any

from dagster_encord.emulator.objects import read_range

logger = logging.getLogger("dagster_encord.emulator")
READ_BUDGET = 8 * 1024 * 1024  # bytes one video may cost; past it the header counts unreadable
MISSING_AV = (
    "reading video headers needs PyAV, which is not installed; "
    "install it with: pip install 'dagster-encord[media]'"
)
_warned = False


def require_av() -> Any:
    """The `av` module, or an ImportError that says how to install it."""
    try:
        import av
    except ImportError as error:
        raise ImportError(MISSING_AV) from error
    return av


class RangeFile(io.RawIOBase):
    """A read-only, seekable file over an object, read with range requests."""

    def __init__(self, where: Path | str, size: int, budget: int = READ_BUDGET) -> None:
        self.where, self.size, self.budget = where, size, budget
        self.position = 0
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer: Any) -> int:
        length = min(len(buffer), self.size - self.position, self.budget - self.bytes_read)
        if length <= 0:
            return 0
        data = read_range(self.where, self.position, length)
        if not data:
            return 0
        buffer[: len(data)] = data
        self.position += len(data)
        self.bytes_read += len(data)
        return len(data)


def probe_video(where: Path | str, size: int) -> dict[str, Any]:
    """{"width", "height", "fps", "duration", "frameCount"} as far as the header tells, or {}."""
    global _warned
    try:
        av = require_av()
    except ImportError as error:
        if not _warned:
            _warned = True
            logger.warning("%s", error)
        return {}
    try:
        with av.open(
            RangeFile(where, size), options={"probesize": "32", "analyzeduration": "0"}
        ) as container:
            stream = container.streams.video[0]
            found: dict[str, Any] = {
                "width": stream.width or None,
                "height": stream.height or None,
                "fps": _float(stream.average_rate),
                "frameCount": stream.frames or None,
                "duration": container.duration / 1_000_000 if container.duration else None,
            }
    except Exception:  # not a video, truncated, over budget: FFmpeg raises many error types
        return {}
    return {name: value for name, value in found.items() if value is not None}


def _float(rate: Fraction | None) -> float | None:
    return round(float(rate), 3) if rate else None
