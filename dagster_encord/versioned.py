"""Versioned JSON records (sensor cursors): `{"v": N, ...}`, so a format change is noticed."""

from __future__ import annotations

import json
from typing import Any


def dump_versioned(version: int, fields: dict[str, Any]) -> str:
    return json.dumps({"v": version, **fields}, separators=(",", ":"))


def load_versioned(text: str, version: int) -> dict[str, Any]:
    """The record's fields; ValueError for garbage, a non-object or another version."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    if data.get("v") != version:
        raise ValueError(f"version {data.get('v')!r}, expected {version}")
    return data
