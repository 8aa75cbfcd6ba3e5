"""Shard encodings: Encord JSON (one `to_encord_dict()` per line, unchanged) and COCO (the SDK's
own `CocoExporter`, one COCO document per shard).

A row the COCO exporter cannot convert is left out of its shard with the reason, and the rest of
the shard is written: the shard is exported whole first, and only when that fails is each row
tried alone to find the ones at fault.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from dagster_encord.errors import ExportError

if TYPE_CHECKING:
    from encord.objects import OntologyStructure

COCO_INSTALL = "pip install 'dagster-encord[coco]'"


@dataclass(frozen=True)
class Skipped:
    label_hash: str
    data_title: str
    reason: str


@dataclass
class Encoded:
    data: bytes
    rows: int
    skipped: list[Skipped] = field(default_factory=list)


class ShardFormat(Protocol):
    suffix: str
    content_type: str

    def encode(self, rows: Sequence[dict[str, Any]]) -> Encoded: ...


class JsonLines:
    suffix = "jsonl"
    content_type = "application/x-ndjson"

    def encode(self, rows: Sequence[dict[str, Any]]) -> Encoded:
        lines = [json.dumps(row, ensure_ascii=False, default=_plain) for row in rows]
        return Encoded(("\n".join(lines) + "\n").encode("utf-8") if lines else b"", len(rows))


class Coco:
    suffix = "json"
    content_type = "application/json"

    def __init__(self, ontology: OntologyStructure) -> None:
        self.ontology = ontology
        self.exporter = coco_exporter()

    def encode(self, rows: Sequence[dict[str, Any]]) -> Encoded:
        try:
            document = self.exporter(list(rows), ontology=self.ontology).export()
            return Encoded(_dumps(document), len(rows))
        except Exception:
            pass
        kept, skipped = [], []
        for row in rows:
            try:
                self.exporter([row], ontology=self.ontology).export()
                kept.append(row)
            except Exception as error:
                reason = f"COCO conversion failed: {type(error).__name__}: {error}"
                skipped.append(Skipped(row["label_hash"], str(row.get("data_title")), reason))
        document = self.exporter(kept, ontology=self.ontology).export()
        return Encoded(_dumps(document), len(kept), skipped)


def coco_exporter() -> Any:
    """The SDK's `CocoExporter`; an `ExportError` naming the extra when it is not installed."""
    try:
        from encord.utilities.coco.exporter import CocoExporter
    except ImportError as error:
        raise ExportError(
            f"format: coco needs the SDK's COCO exporter and its libraries ({error}): "
            f"{COCO_INSTALL}"
        ) from None
    return CocoExporter


def shard_format(name: str, ontology: OntologyStructure | None) -> ShardFormat:
    if name == "coco":
        if ontology is None:
            raise ExportError("format: coco needs the project's ontology")
        return Coco(ontology)
    return JsonLines()


def _dumps(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, default=_plain).encode("utf-8")


def _plain(value: Any) -> Any:
    """numpy scalars and arrays from the COCO exporter, bytes from RLE masks."""
    if isinstance(value, bytes):
        return value.decode("ascii")
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
