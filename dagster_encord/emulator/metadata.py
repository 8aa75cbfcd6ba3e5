"""Custom metadata: the organisation's metadata schema (v2 and legacy) and value validation.

Schema v2 is a mapping key -> type descriptor (`{"ty": "variant", "hint": "number"}`, enum,
embedding, tombstone, ...). Saving replaces the whole schema. Item clientMetadata is checked
against it on registration and on item updates; keys the schema does not declare are accepted, as
Encord accepts schemaless metadata.
"""

from __future__ import annotations

import uuid as uuid_lib
from datetime import datetime
from typing import Any

from dagster_encord.emulator.state import EmulatorState
from dagster_encord.emulator.wire import ApiError

SCHEMA_V2 = "schema_v2"
SCHEMA_LEGACY = "schema_legacy"
SCALARS = {"number", "varchar", "text", "boolean", "datetime", "uuid"}
HINT_ALIASES = {"string": "varchar", "long_string": "text"}
DIRECT_TYPES = SCALARS | {"user", "geospatial"}
LEGACY_TYPES = {
    "number",
    "string",
    "boolean",
    "datetime",
    "geospatial",
    "enum",
    "embedding",
    "long_string",
}
LEGACY_TO_SCALAR = {"string": "varchar", "long_string": "text"}
MAX_VARCHAR = 8192
MAX_ENUM_VALUES = 256
MAX_EMBEDDING = 4096


def validate_schema_v2(schema: Any) -> dict[str, Any]:
    """The schema as stored; ApiError(400) naming the first bad key."""
    if not isinstance(schema, dict):
        raise ApiError(
            400, "metadata schema must be a JSON object mapping keys to type descriptors"
        )
    for key, descriptor in schema.items():
        _validate_descriptor(key, descriptor, allow_tombstone=True)
    return schema


def _validate_descriptor(key: str, descriptor: Any, allow_tombstone: bool) -> None:
    where = f"metadata schema key '{key}'"
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("ty"), str):
        raise ApiError(400, f"{where}: expected an object with 'ty'")
    ty = descriptor["ty"]
    if ty == "variant":
        hint = descriptor.get("hint", "text")
        if HINT_ALIASES.get(hint, hint) not in SCALARS:
            raise ApiError(
                400, f"{where}: unknown scalar hint '{hint}' (use one of {sorted(SCALARS)})"
            )
    elif ty == "enum":
        values = descriptor.get("values")
        if (
            not isinstance(values, list)
            or not 1 <= len(values) <= MAX_ENUM_VALUES
            or not all(isinstance(v, str) for v in values)
        ):
            raise ApiError(400, f"{where}: enum needs 1 to {MAX_ENUM_VALUES} string options")
    elif ty == "embedding":
        size = descriptor.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_EMBEDDING:
            raise ApiError(
                400, f"{where}: embedding size must be an integer from 1 to {MAX_EMBEDDING}"
            )
    elif ty == "varchar":
        max_length = descriptor.get("max_length", MAX_VARCHAR)
        if not isinstance(max_length, int) or not 0 <= max_length <= MAX_VARCHAR:
            raise ApiError(400, f"{where}: varchar max_length must be 0..{MAX_VARCHAR}")
    elif ty == "tombstone" and allow_tombstone:
        if descriptor.get("deleted_ty") is not None:
            _validate_descriptor(key, descriptor["deleted_ty"], allow_tombstone=False)
    elif ty not in DIRECT_TYPES:
        raise ApiError(400, f"{where}: unknown type '{ty}'")


def validate_legacy_schema(schema: Any) -> dict[str, str]:
    if not isinstance(schema, dict):
        raise ApiError(
            400, "legacy metadata schema must be a JSON object mapping keys to type names"
        )
    for key, type_name in schema.items():
        if type_name not in LEGACY_TYPES:
            raise ApiError(400, f"metadata schema key '{key}': unknown type '{type_name}'")
    return schema


def effective_types(state: EmulatorState) -> dict[str, dict[str, Any]]:
    """key -> descriptor to validate against (v2 wins; legacy fills in when v2 is empty)."""
    schema: dict[str, dict[str, Any]] = state.org(SCHEMA_V2) or {}
    if schema:
        return schema
    legacy = state.org(SCHEMA_LEGACY)
    if not legacy:
        return {}
    result: dict[str, dict[str, Any]] = {}
    for key, type_name in legacy["metadataSchema"].items():
        if type_name in ("enum", "embedding", "geospatial"):
            result[key] = {"ty": "legacy-" + type_name}
        else:
            result[key] = {"ty": "variant", "hint": LEGACY_TO_SCALAR.get(type_name, type_name)}
    return result


def check_item_metadata(state: EmulatorState, metadata: dict[str, Any]) -> str | None:
    """Why `metadata` does not conform to the schema, or None."""
    if not metadata:
        return None
    schema = effective_types(state)
    if not schema:
        return None
    for key, value in metadata.items():
        descriptor = schema.get(key)
        if descriptor is None or value is None:
            continue
        problem = _value_problem(descriptor, value)
        if problem is not None:
            return f"key '{key}': {problem}, got {_show(value)}"
    return None


def _value_problem(descriptor: dict[str, Any], value: Any) -> str | None:
    ty = descriptor["ty"]
    if ty == "variant":
        ty = HINT_ALIASES.get(descriptor.get("hint", "text"), descriptor.get("hint", "text"))
    if ty == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else "expected a number"
    if ty == "boolean":
        return None if isinstance(value, bool) else "expected true or false"
    if ty in ("varchar", "text"):
        if not isinstance(value, str):
            return "expected a string"
        limit = descriptor.get("max_length", MAX_VARCHAR) if ty == "varchar" else None
        return (
            f"longer than {limit} characters" if limit is not None and len(value) > limit else None
        )
    if ty == "datetime":
        return (
            None if isinstance(value, str) and _is_iso(value) else "expected an ISO 8601 datetime"
        )
    if ty == "uuid":
        return None if isinstance(value, str) and _is_uuid(value) else "expected a UUID"
    if ty == "enum":
        values = descriptor["values"]
        return None if value in values else f"expected one of {values}"
    if ty == "embedding":
        size = descriptor["size"]
        ok = (
            isinstance(value, list)
            and len(value) == size
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        )
        return None if ok else f"expected a list of {size} numbers"
    if ty == "legacy-enum":
        return None if isinstance(value, str) else "expected a string option"
    if ty == "legacy-embedding":
        return None if isinstance(value, list) else "expected a list of numbers"
    return None  # tombstone, user, geospatial: not validated


def _is_iso(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_uuid(value: str) -> bool:
    try:
        uuid_lib.UUID(value)
    except ValueError:
        return False
    return True


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
