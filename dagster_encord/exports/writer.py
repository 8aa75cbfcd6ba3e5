"""Shards and the manifest of one export run, written into the destination bucket.

Shards are named by the run's prefix and their index, so a run redone after a crash writes the
same names. The manifest is written last: a reader that finds `_manifest.json` finds every shard
it lists complete.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dagster_encord.exports.formats import ShardFormat, Skipped
from dagster_encord.sources import Source

MANIFEST = "_manifest.json"


@dataclass(frozen=True)
class Shard:
    key: str
    url: str
    rows: int
    bytes: int


@dataclass
class ShardWriter:
    destination: Source
    prefix: str  # bucket key prefix of this run, ending in "/"
    shard_format: ShardFormat
    shard_rows: int
    shards: list[Shard] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    _buffer: list[dict[str, Any]] = field(default_factory=list)

    def add(self, row: dict[str, Any]) -> None:
        self._buffer.append(row)
        if len(self._buffer) >= self.shard_rows:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        encoded = self.shard_format.encode(self._buffer)
        self._buffer = []
        self.skipped.extend(encoded.skipped)
        key = f"{self.prefix}part-{len(self.shards):05d}.{self.shard_format.suffix}"
        url = self.destination.write_bytes(key, encoded.data, self.shard_format.content_type)
        self.shards.append(Shard(key, url, encoded.rows, len(encoded.data)))

    @property
    def rows(self) -> int:
        return sum(shard.rows for shard in self.shards)

    @property
    def bytes(self) -> int:
        return sum(shard.bytes for shard in self.shards)

    def write_manifest(self, body: dict[str, Any]) -> str:
        """Write `_manifest.json` (after every shard) and return its URL."""
        document = {
            **body,
            "shards": [
                {"key": s.key, "url": s.url, "rows": s.rows, "bytes": s.bytes} for s in self.shards
            ],
            "skipped": [
                {"label_hash": s.label_hash, "data_title": s.data_title, "reason": s.reason}
                for s in self.skipped
            ],
        }
        data = json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")
        return self.destination.write_bytes(self.prefix + MANIFEST, data, "application/json")
