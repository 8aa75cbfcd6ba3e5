"""Include/exclude glob patterns, matched against keys relative to the source's prefix.

Patterns use `fnmatch` syntax (`*`, `?`, `[abc]`); `*` also crosses `/`, so `*.jpg` matches every
JPEG at any depth. A key is kept when it matches some include pattern (or none are given) and no
exclude pattern. Matching is case-sensitive, as bucket keys are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fnmatch import translate


class KeyFilter:
    """Compiled include/exclude patterns for one listing."""

    def __init__(self, include: Sequence[str] = (), exclude: Sequence[str] = (), base: str = ""):
        self._base_len = len(base)
        self._include = _compile(include)
        self._exclude = _compile(exclude)

    def __call__(self, key: str) -> bool:
        relative = key[self._base_len :]
        if self._include is not None and not self._include.match(relative):
            return False
        return self._exclude is None or not self._exclude.match(relative)


def _compile(patterns: Sequence[str]) -> re.Pattern[str] | None:
    if isinstance(patterns, str):
        patterns = [patterns]
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{translate(pattern)})" for pattern in patterns), re.DOTALL)
