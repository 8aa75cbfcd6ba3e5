"""Where clientMetadata comes from: sidecar JSON files, one mapping file in the bucket, a Python
callable, and fields derived from the object's path. Image groups and sequences get one metadata
object per group.

Every provider implements `MetadataProvider.metadata_for(record) -> dict | None`. `MetadataSources`
merges several (later ones win key by key). Text values (CSV cells, regex groups) are coerced to
the schema's types, so `shard: "07"` becomes `7` when `shard` is declared a number.
A provider failure for one object is returned as a `MetadataViolation` for that object only.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Literal, Protocol

from dagster_encord.errors import MetadataError, ObjectNotFoundError
from dagster_encord.metadata.schema import DeclaredSchema, EmbeddingKey, EnumKey, KeySpec
from dagster_encord.metadata.validate import MetadataViolation
from dagster_encord.sources.base import ObjectRecord, Source

Metadata = dict[str, Any]


class MetadataProvider(Protocol):
    """Gives one object's metadata, or None when it has none."""

    def metadata_for(self, record: ObjectRecord) -> Metadata | None: ...


def metadata_object_filter(provider: object) -> Callable[[str], bool] | None:
    """The provider's own test for keys it reads as metadata (sidecars, a mapping file), if it
    has one: such objects are metadata, never registered in Encord as data."""
    test = getattr(provider, "is_metadata_object", None)
    return test if callable(test) else None


# --- coercion of text values --------------------------------------------------------------------


def coerce_text(value: str, spec: KeySpec | None) -> Any:
    """Turn a text cell into the schema's type; values that do not parse stay text, so that
    validation reports them with the file and key."""
    if spec is None or isinstance(spec, EnumKey):
        return value
    if isinstance(spec, EmbeddingKey):
        try:
            return json.loads(value)
        except ValueError:
            return value
    kind = spec.type
    if kind == "number":
        try:
            number = float(value)
        except ValueError:
            return value
        return (
            int(number)
            if number.is_integer() and "." not in value and "e" not in value.lower()
            else number
        )
    if kind == "boolean":
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
    return value


def _coerce_row(row: Mapping[str, Any], schema: DeclaredSchema | None) -> Metadata:
    keys = schema.keys if schema is not None else {}
    return {
        key: coerce_text(value, keys.get(key)) if isinstance(value, str) else value
        for key, value in row.items()
    }


# --- sidecar JSON -------------------------------------------------------------------------------


SidecarNaming = Literal["append", "replace"]


def sidecar_key(object_key: str, *, naming: SidecarNaming = "append", suffix: str = ".json") -> str:
    """`a.jpg` -> `a.jpg.json` (append) or `a.json` (replace the extension)."""
    if naming == "append":
        return object_key + suffix
    path = PurePosixPath(object_key)
    return str(path.with_suffix("")) + suffix if path.suffix else object_key + suffix


@dataclass
class SidecarJson:
    """Reads `<object>.json` (or `<stem>.json`) next to each object from the same source.

    Pass `known_keys` (the listing's keys) to skip reads for objects without a sidecar.
    """

    source: Source
    naming: SidecarNaming = "append"
    suffix: str = ".json"
    known_keys: frozenset[str] | None = None

    def sidecar_for(self, record: ObjectRecord) -> str:
        return sidecar_key(record.key, naming=self.naming, suffix=self.suffix)

    def is_sidecar(self, key: str) -> bool:
        """Sidecars are metadata, not data: the pipeline leaves them out of registration."""
        return key.endswith(self.suffix)

    is_metadata_object = is_sidecar

    def metadata_for(self, record: ObjectRecord) -> Metadata | None:
        key = self.sidecar_for(record)
        if self.known_keys is not None and key not in self.known_keys:
            return None
        try:
            raw = self.source.read_bytes(key)
        except ObjectNotFoundError:
            return None
        try:
            data = json.loads(raw)
        except ValueError as error:
            raise MetadataError(
                f"sidecar {key} for {record.object_url} is not valid JSON ({error}); "
                "fix or remove it"
            ) from None
        if not isinstance(data, dict):
            raise MetadataError(
                f"sidecar {key} for {record.object_url} must hold a JSON object, "
                f"got {type(data).__name__}"
            )
        # A sidecar may hold the metadata itself or wrap it as {"clientMetadata": {...}}.
        inner = data.get("clientMetadata")
        return inner if isinstance(inner, dict) and len(data) == 1 else data


# --- one mapping file ---------------------------------------------------------------------------


MappingFormat = Literal["csv", "jsonl", "parquet"]


@dataclass
class MappingFile:
    """One CSV, JSONL or Parquet file in the bucket, one row per object, keyed by the object key
    or its URL (`key_column`). Other columns are metadata; an optional `clientMetadata` column of
    JSON objects is merged in. Loaded once, on first use."""

    source: Source
    path: str
    key_column: str = "key"
    format: MappingFormat | None = None
    schema: DeclaredSchema | None = None
    _rows: dict[str, Metadata] | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def metadata_for(self, record: ObjectRecord) -> Metadata | None:
        rows = self.rows()
        found = rows.get(record.key)
        return found if found is not None else rows.get(record.object_url)

    def is_metadata_object(self, key: str) -> bool:
        """The mapping file itself is metadata, not data."""
        return key == self.path.lstrip("/")

    def rows(self) -> dict[str, Metadata]:
        with self._lock:  # `MetadataSources.collect` calls from several threads
            if self._rows is None:
                self._rows = self._load()
            return self._rows

    def _load(self) -> dict[str, Metadata]:
        fmt = self.format or _format_from_path(self.path)
        data = self.source.read_bytes(self.path)
        raw_rows = {"csv": _csv_rows, "jsonl": _jsonl_rows, "parquet": _parquet_rows}[fmt](
            data, self.path
        )
        rows: dict[str, Metadata] = {}
        for line, row in enumerate(raw_rows, start=2 if fmt == "csv" else 1):
            key = row.pop(self.key_column, None)
            if key in (None, ""):
                raise MetadataError(
                    f"mapping file {self.path}, row {line}: no value in key column "
                    f"{self.key_column!r}; every row needs the object key or URL"
                )
            nested = row.pop("clientMetadata", None)
            metadata = _coerce_row(
                {k: v for k, v in row.items() if v is not None and v != ""}, self.schema
            )
            if nested not in (None, ""):
                metadata.update(_nested_metadata(nested, self.path, line))
            rows[str(key)] = metadata
        return rows


def _format_from_path(path: str) -> MappingFormat:
    lowered = path.lower()
    for ext, fmt in (
        (".csv", "csv"),
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".parquet", "parquet"),
    ):
        if lowered.endswith(ext):
            return fmt  # type: ignore[return-value]
    raise MetadataError(
        f"mapping file {path}: cannot tell the format from the name; use .csv, .jsonl or "
        ".parquet, or pass format="
    )


def _nested_metadata(value: Any, path: str, line: int) -> Metadata:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    if not isinstance(value, dict):
        raise MetadataError(
            f"mapping file {path}, row {line}: clientMetadata must be a JSON object, "
            f"got {value!r:.60}"
        )
    return value


def _csv_rows(data: bytes, path: str) -> Iterable[dict[str, Any]]:
    text = data.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def _jsonl_rows(data: bytes, path: str) -> Iterable[dict[str, Any]]:
    rows = []
    for line_number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as error:
            raise MetadataError(
                f"mapping file {path}, line {line_number}: not JSON ({error})"
            ) from None
        if not isinstance(row, dict):
            raise MetadataError(f"mapping file {path}, line {line_number}: expected a JSON object")
        rows.append(row)
    return rows


def _parquet_rows(data: bytes, path: str) -> Iterable[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise MetadataError(
            f"mapping file {path}: reading Parquet needs pyarrow; install dagster-encord[parquet]"
        ) from None
    rows: list[dict[str, Any]] = pq.read_table(io.BytesIO(data)).to_pylist()
    return rows


# --- a Python callable and the path -------------------------------------------------------------


@dataclass
class FromCallable:
    """`fn(record) -> dict | None`, for metadata computed in the user's own code."""

    fn: Callable[[ObjectRecord], Mapping[str, Any] | None]

    def metadata_for(self, record: ObjectRecord) -> Metadata | None:
        found = self.fn(record)
        if found is None:
            return None
        if not isinstance(found, Mapping):
            raise MetadataError(
                f"metadata callable {getattr(self.fn, '__name__', self.fn)!r} returned "
                f"{type(found).__name__} for {record.object_url}; it must return a dict or None"
            )
        return dict(found)


@dataclass
class FromPath:
    """Fields from the object key by a regex with named groups, searched anywhere in the key.

    Seed 002's `shard` is `FromPath(r"(?P<shard>\\d+)/[^/]+$", schema)`. Groups that did not
    take part in the match are left out.
    """

    pattern: str | re.Pattern[str]
    schema: DeclaredSchema | None = None

    def __post_init__(self) -> None:
        self._regex = re.compile(self.pattern) if isinstance(self.pattern, str) else self.pattern
        if not self._regex.groupindex:
            raise MetadataError(
                f"path pattern {self._regex.pattern!r} has no named groups; name each field "
                "as (?P<field>...)"
            )

    def metadata_for(self, record: ObjectRecord) -> Metadata | None:
        match = self._regex.search(record.key)
        if match is None:
            return None
        groups = {k: v for k, v in match.groupdict().items() if v is not None}
        return _coerce_row(groups, self.schema) or None


# --- composition, groups ------------------------------------------------------------------------


@dataclass
class MetadataSources:
    """Several providers merged in order (later providers override earlier ones, key by key)."""

    providers: Sequence[MetadataProvider]
    max_workers: int = 16

    def is_metadata_object(self, key: str) -> bool:
        return any(test(key) for test in map(metadata_object_filter, self.providers) if test)

    def metadata_for(self, record: ObjectRecord) -> Metadata | None:
        merged: Metadata = {}
        found = False
        for provider in self.providers:
            part = provider.metadata_for(record)
            if part is not None:
                merged.update(part)
                found = True
        return merged if found else None

    def collect(
        self, records: Sequence[ObjectRecord]
    ) -> tuple[dict[str, Metadata], list[MetadataViolation]]:
        """Metadata by object URL for many records (sidecar reads run in parallel). A record
        whose provider fails gets a violation; the others are unaffected."""

        def one(record: ObjectRecord) -> tuple[ObjectRecord, Metadata | None, str | None]:
            try:
                return record, self.metadata_for(record), None
            except MetadataError as error:
                return record, None, str(error)

        found: dict[str, Metadata] = {}
        problems: list[MetadataViolation] = []
        workers = max(1, min(self.max_workers, len(records)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for record, metadata, problem in pool.map(one, records):
                if problem is not None:
                    problems.append(
                        MetadataViolation(
                            record.object_url, "<source>", "readable metadata", problem
                        )
                    )
                elif metadata is not None:
                    found[record.object_url] = metadata
        return found, problems


def group_metadata(member_metadata: Sequence[Metadata | None]) -> tuple[Metadata, list[Metadata]]:
    """Split members' metadata for an image group or sequence, whose clientMetadata is per group.

    The group gets the keys every member has with the same value; each member keeps the rest as
    its per-frame metadata, which reaches Encord by patching the group's frames once the group
    exists (seed 003; `dagster_encord.metadata.frame_execute.patch_group_frames`).
    """
    present = [m or {} for m in member_metadata]
    if not present:
        return {}, []
    first = present[0]
    common = {
        key: value
        for key, value in first.items()
        if all(key in other and other[key] == value for other in present[1:])
    }
    per_frame = [{k: v for k, v in m.items() if k not in common} for m in present]
    return common, per_frame


def metadata_for_group(
    provider: MetadataProvider, members: Sequence[ObjectRecord]
) -> tuple[Metadata, list[Metadata]]:
    """Group-level metadata (shared by all members) and each member's per-frame remainder."""
    return group_metadata([provider.metadata_for(m) for m in members])
