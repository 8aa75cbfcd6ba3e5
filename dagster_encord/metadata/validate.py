"""Validation of clientMetadata values against the declared schema, before anything is sent.

`MetadataValidator` compiles the schema once into one check per key, so validating a record is a
dict walk with no allocation on the happy path (planning validates every record). Each failure is
a `MetadataViolation` naming the file, the key, what was expected and what was found; a record's
violations never affect another record.

Checked: datetime is ISO 8601; uuid is UUIDv4; numbers are finite; enum values are members;
embeddings have the declared length of finite numbers; varchar is at most 8,192 characters; the
reserved `keyframes` and `$encord` structures; an item's metadata is at most 10 MB of JSON.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from dagster_encord.errors import MetadataValidationError
from dagster_encord.metadata.schema import (
    VARCHAR_MAX_LENGTH,
    DeclaredSchema,
    EmbeddingKey,
    EnumKey,
    KeySpec,
    ScalarKey,
    UnknownKeyPolicy,
)

MAX_METADATA_BYTES = 10 * 1024 * 1024  # Encord's limit per data item (seed 002)
KEYFRAME_MODES = ("frame", "seconds")
_UUID4_RE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
)
# A cheap bound: below this many characters of str/scalar content the JSON cannot reach 10 MB.
_SIZE_CHECK_THRESHOLD = 1_000_000

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class MetadataViolation:
    """One problem with one key of one file's metadata."""

    file: str
    key: str
    expected: str
    found: str
    severity: Severity = "error"

    def __str__(self) -> str:
        label = "" if self.severity == "error" else " (warning)"
        return (
            f"metadata key {self.key!r} on {self.file}{label}: "
            f"expected {self.expected}, got {self.found}"
        )


def _show(value: Any, limit: int = 60) -> str:
    """A short, safe rendering of a found value for messages."""
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} values"
    if isinstance(value, dict):
        return f"an object with {len(value)} keys"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


Check = Callable[[Any], str | None]  # returns what was found when invalid, None when valid


def _is_number(value: Any) -> bool:
    return (type(value) is float or type(value) is int) and math.isfinite(value)


def _check_boolean(value: Any) -> str | None:
    return None if type(value) is bool else _show(value)


def _check_number(value: Any) -> str | None:
    if type(value) is int:
        return None
    if type(value) is float:
        return None if math.isfinite(value) else _show(value)
    return _show(value)


def _check_datetime(value: Any) -> str | None:
    if type(value) is not str:
        return _show(value)
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return _show(value)
    return None


def _check_uuid(value: Any) -> str | None:
    if type(value) is str and _UUID4_RE.fullmatch(value):
        return None
    return _show(value)


def _check_varchar(value: Any) -> str | None:
    if type(value) is not str:
        return _show(value)
    if len(value) > VARCHAR_MAX_LENGTH:
        return f"a string of {len(value)} characters"
    return None


def _check_text(value: Any) -> str | None:
    return None if type(value) is str else _show(value)


_SCALAR_CHECKS: Mapping[str, tuple[Check, str]] = {
    "boolean": (_check_boolean, "boolean (true or false)"),
    "number": (_check_number, "a finite number"),
    "datetime": (_check_datetime, "datetime (ISO 8601, e.g. 2024-03-12T10:00:00Z)"),
    "uuid": (_check_uuid, "uuid (UUIDv4)"),
    "varchar": (_check_varchar, f"varchar (a string of at most {VARCHAR_MAX_LENGTH} characters)"),
    "text": (_check_text, "text (a string)"),
}


def _embedding_check(size: int) -> Check:
    def check(value: Any) -> str | None:
        if type(value) is not list and type(value) is not tuple:
            return _show(value)
        if len(value) != size:
            return f"a list of {len(value)} values"
        if not {type(x) for x in value} <= {float, int}:
            bad = next(x for x in value if type(x) not in (float, int))
            return f"a non-number element {_show(bad)}"
        if not math.isfinite(math.fsum(value)):
            bad = next((x for x in value if not math.isfinite(x)), None)
            if bad is not None:
                return f"a non-finite element {bad!r}"
        return None

    return check


def _compile(spec: KeySpec) -> tuple[Check, str]:
    if isinstance(spec, ScalarKey):
        return _SCALAR_CHECKS[spec.type]
    if isinstance(spec, EnumKey):
        options = frozenset(spec.values)
        expected = f"one of {sorted(options)}"
        return (lambda value: None if value in options and type(value) is str else _show(value)), (
            expected
        )
    if isinstance(spec, EmbeddingKey):
        return _embedding_check(spec.size), f"embedding of {spec.size} finite numbers"
    raise TypeError(spec)  # pragma: no cover - KeySpec is closed


class MetadataValidator:
    """Validates clientMetadata dicts against one declared schema. Build once, call per file."""

    def __init__(self, schema: DeclaredSchema, *, unknown_keys: UnknownKeyPolicy | None = None):
        self.schema = schema
        self.unknown_keys: UnknownKeyPolicy = unknown_keys or schema.unknown_keys
        self._checks: dict[str, tuple[Check, str]] = {
            name: _compile(spec) for name, spec in schema.keys.items()
        }
        self._embedding_keys = {n for n, s in schema.keys.items() if isinstance(s, EmbeddingKey)}

    def validate(self, metadata: Any, *, file: str) -> list[MetadataViolation]:
        """All violations for one file's metadata (empty when it conforms)."""
        if metadata is None:
            return []
        if not isinstance(metadata, Mapping):
            return [MetadataViolation(file, "<root>", "an object of key -> value", _show(metadata))]
        violations: list[MetadataViolation] = []
        self._check_keys(metadata, file, "", violations)
        if not violations or all(v.severity == "warning" for v in violations):
            self._check_size(metadata, file, violations)
        return violations

    def errors(self, metadata: Any, *, file: str) -> list[MetadataViolation]:
        return [v for v in self.validate(metadata, file=file) if v.severity == "error"]

    def check(self, metadata: Any, *, file: str) -> None:
        """Raise MetadataValidationError listing every error; warnings pass."""
        errors = self.errors(metadata, file=file)
        if errors:
            raise MetadataValidationError("\n".join(str(e) for e in errors))

    # --- internals ----------------------------------------------------------------------------

    def _check_keys(
        self,
        metadata: Mapping[Any, Any],
        file: str,
        prefix: str,
        out: list[MetadataViolation],
        *,
        in_frame: bool = False,
    ) -> None:
        checks = self._checks
        for key, value in metadata.items():
            compiled = checks.get(key)
            if compiled is not None:
                found = compiled[0](value)
                if found is not None:
                    out.append(MetadataViolation(file, prefix + str(key), compiled[1], found))
                continue
            if not in_frame and key == "$encord":
                _check_encord_block(self, value, file, out)
            elif not in_frame and key == "keyframes":
                _check_keyframes(value, file, "keyframes", out)
            elif type(key) is not str:
                out.append(MetadataViolation(file, repr(key), "a string key", _show(key)))
            elif key.startswith("$"):
                out.append(
                    MetadataViolation(
                        file,
                        prefix + key,
                        "no '$' keys other than '$encord' (reserved)",
                        _show(value),
                    )
                )
            elif self.unknown_keys != "allow":
                severity: Severity = "error" if self.unknown_keys == "reject" else "warning"
                out.append(
                    MetadataViolation(
                        file,
                        prefix + key,
                        "a key declared in the metadata schema",
                        f"undeclared key with {_show(value)}",
                        severity,
                    )
                )

    def _check_size(
        self, metadata: Mapping[Any, Any], file: str, out: list[MetadataViolation]
    ) -> None:
        if _rough_size(metadata) < _SIZE_CHECK_THRESHOLD:
            return
        try:
            size = len(json.dumps(metadata, separators=(",", ":"), allow_nan=False).encode())
        except (TypeError, ValueError) as error:
            out.append(MetadataViolation(file, "<root>", "JSON-serialisable values", str(error)))
            return
        if size > MAX_METADATA_BYTES:
            out.append(
                MetadataViolation(
                    file,
                    "<root>",
                    f"at most {MAX_METADATA_BYTES:,} bytes of metadata per item (Encord's limit); "
                    "move large values (embeddings, transcripts) out or shorten them",
                    f"{size:,} bytes",
                )
            )


def _rough_size(value: Any) -> int:
    """An upper-bound-ish estimate of the JSON size; exact sizing only runs above the threshold."""
    kind = type(value)
    if kind is str:
        return len(value) + 2
    if kind is dict:
        return sum(len(str(k)) + 4 + _rough_size(v) for k, v in value.items()) + 2
    if kind is list or kind is tuple:
        if value and type(value[0]) in (float, int):
            return 25 * len(value) + 2  # repr of a float is at most 24 characters
        return sum(_rough_size(v) + 1 for v in value) + 2
    return 25


def _check_keyframes(value: Any, file: str, key: str, out: list[MetadataViolation]) -> None:
    if type(value) is not list or not all(type(f) is int and f >= 0 for f in value):
        out.append(
            MetadataViolation(
                file, key, "a list of non-negative integer frame numbers", _show(value)
            )
        )


def _check_encord_block(
    validator: MetadataValidator, value: Any, file: str, out: list[MetadataViolation]
) -> None:
    """`$encord`: optional `config` {sampling_rate, keyframe_mode}, and `frames` as a list of
    frame numbers or a map from frame (or second) to that frame's metadata and embeddings."""
    if not isinstance(value, Mapping):
        out.append(
            MetadataViolation(file, "$encord", "an object with config and frames", _show(value))
        )
        return
    extra = sorted(str(k) for k in value if k not in ("config", "frames"))
    if extra:
        out.append(
            MetadataViolation(file, "$encord", "only the keys config and frames", f"{extra}")
        )
    mode = "frame"
    config = value.get("config")
    if config is not None:
        mode = _check_encord_config(config, file, out)
    frames = value.get("frames")
    if frames is None:
        return
    if type(frames) is list:
        _check_keyframes(frames, file, "$encord.frames", out)
        return
    if not isinstance(frames, Mapping):
        out.append(
            MetadataViolation(
                file, "$encord.frames", "a list of frames or a map frame -> metadata", _show(frames)
            )
        )
        return
    for frame, frame_metadata in frames.items():
        where = f"$encord.frames.{frame}"
        if not _is_frame_key(frame, mode):
            expected = (
                "a non-negative integer frame number"
                if mode == "frame"
                else "a non-negative number of seconds"
            )
            out.append(MetadataViolation(file, where, f"{expected} as the key", _show(frame)))
        if not isinstance(frame_metadata, Mapping):
            out.append(
                MetadataViolation(file, where, "an object of key -> value", _show(frame_metadata))
            )
            continue
        validator._check_keys(frame_metadata, file, where + ".", out, in_frame=True)


def _check_encord_config(config: Any, file: str, out: list[MetadataViolation]) -> str:
    if not isinstance(config, Mapping):
        out.append(
            MetadataViolation(
                file, "$encord.config", "an object {sampling_rate, keyframe_mode}", _show(config)
            )
        )
        return "frame"
    extra = sorted(str(k) for k in config if k not in ("sampling_rate", "keyframe_mode"))
    if extra:
        out.append(
            MetadataViolation(
                file, "$encord.config", "only sampling_rate and keyframe_mode", f"{extra}"
            )
        )
    if "sampling_rate" in config:
        rate = config["sampling_rate"]
        if not (_is_number(rate) and rate >= 0):
            out.append(
                MetadataViolation(
                    file,
                    "$encord.config.sampling_rate",
                    "a finite number >= 0 (samples per second; 0 imports keyframes only)",
                    _show(rate),
                )
            )
    mode = config.get("keyframe_mode", "frame")
    if mode not in KEYFRAME_MODES:
        out.append(
            MetadataViolation(
                file, "$encord.config.keyframe_mode", "'frame' or 'seconds'", _show(mode)
            )
        )
        return "frame"
    return str(mode)


def _is_frame_key(frame: Any, mode: str) -> bool:
    text = str(frame)
    if mode == "frame":
        return text.isdigit()
    try:
        seconds = float(text)
    except ValueError:
        return False
    return math.isfinite(seconds) and seconds >= 0


@dataclass(frozen=True)
class ValidationReport:
    """The outcome over many files: which conform and every violation."""

    checked: int
    valid_files: tuple[str, ...]
    violations: tuple[MetadataViolation, ...]

    @property
    def errors(self) -> tuple[MetadataViolation, ...]:
        return tuple(v for v in self.violations if v.severity == "error")

    @property
    def failed_files(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.file for v in self.errors))


def validate_many(
    validator: MetadataValidator, items: Iterable[tuple[str, Any]]
) -> ValidationReport:
    """Validate (file, metadata) pairs; a bad file never stops the others."""
    checked = 0
    valid: list[str] = []
    violations: list[MetadataViolation] = []
    for file, metadata in items:
        checked += 1
        found = validator.validate(metadata, file=file)
        violations.extend(found)
        if not any(v.severity == "error" for v in found):
            valid.append(file)
    return ValidationReport(checked, tuple(valid), tuple(violations))
