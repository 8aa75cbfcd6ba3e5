"""The declared metadata schema: its keys, how it is written (Python or YAML), its key rules, and
its diff against the live schema in Encord.

The rules come from Encord's docs (seeds 000, 002, 004): scalars `boolean, datetime, number, uuid,
varchar, text` (`string`/`long_string` are accepted aliases, with a warning), enums with 1-255
options, embeddings of 1-4096 floats (at most 2,000 when the target is Active). Keys use letters,
digits, space, hyphen, underscore and period, are case sensitive and may be namespaced
(`team.key`); embedding keys allow only letters, digits, hyphen and underscore.

This module is pure: `diff_schema` compares the declaration with a neutral view of the live schema
(`LiveKey`); `dagster_encord.metadata.schema_sync` applies the resulting plan through the client.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from dagster_encord.errors import SchemaError

log = logging.getLogger(__name__)

ScalarType = Literal["boolean", "datetime", "number", "uuid", "varchar", "text"]
SCALAR_TYPES: frozenset[str] = frozenset(
    {"boolean", "datetime", "number", "uuid", "varchar", "text"}
)
SCALAR_ALIASES: Mapping[str, str] = {"string": "varchar", "long_string": "text"}
Target = Literal["index", "active"]
UnknownKeyPolicy = Literal["allow", "warn", "reject"]
UNKNOWN_KEY_POLICIES: frozenset[str] = frozenset({"allow", "warn", "reject"})

EMBEDDING_MAX_SIZE: Mapping[str, int] = {"index": 4096, "active": 2000}
ENUM_MAX_OPTIONS = 255  # the SDK refuses 256 or more
VARCHAR_MAX_LENGTH = 8192  # the schema model's varchar max_length

# Keys the SDK and Encord reserve: `$`-prefixed structures and the deprecated `keyframes`.
RESERVED_KEYS: frozenset[str] = frozenset({"keyframes", "$encord"})

_KEY_RE = re.compile(r"[A-Za-z0-9 _.\-]+")
_EMBEDDING_KEY_RE = re.compile(r"[A-Za-z0-9_\-]+")
_SEPARATORS_ONLY_RE = re.compile(r"[ _.\-]+")

# Scalar type changes that cannot invalidate stored values, so they need no opt-in.
SAFE_SCALAR_CHANGES: frozenset[tuple[str, str]] = frozenset({("varchar", "text")})


# --- declared keys ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScalarKey:
    name: str
    type: str  # one of SCALAR_TYPES after alias resolution

    kind: Literal["scalar"] = "scalar"

    def describe(self) -> str:
        return self.type


@dataclass(frozen=True, slots=True)
class EnumKey:
    name: str
    values: tuple[str, ...]

    kind: Literal["enum"] = "enum"

    def describe(self) -> str:
        return f"enum{sorted(self.values)}"


@dataclass(frozen=True, slots=True)
class EmbeddingKey:
    name: str
    size: int

    kind: Literal["embedding"] = "embedding"

    def describe(self) -> str:
        return f"embedding(size={self.size})"


KeySpec = ScalarKey | EnumKey | EmbeddingKey


def scalar(name: str, type: str) -> ScalarKey:
    """Declare a scalar key in Python: `scalar("captured_at", "datetime")`."""
    return ScalarKey(name, _resolve_scalar_type(name, type))


def enum(name: str, values: Iterable[str]) -> EnumKey:
    """Declare an enum key: `enum("weather", ["sunny", "rainy"])`."""
    return EnumKey(name, tuple(values))


def embedding(name: str, size: int) -> EmbeddingKey:
    """Declare an embedding key: `embedding("clip", 512)`."""
    return EmbeddingKey(name, size)


def _resolve_scalar_type(key: str, type_name: str) -> str:
    if type_name in SCALAR_TYPES:
        return type_name
    if type_name in SCALAR_ALIASES:
        preferred = SCALAR_ALIASES[type_name]
        log.warning(
            "metadata key %r: type %r is a legacy alias of %r; declare %r instead",
            key,
            type_name,
            preferred,
            preferred,
        )
        return preferred
    raise SchemaError(
        f"metadata key {key!r}: unknown type {type_name!r}; use one of "
        f"{', '.join(sorted(SCALAR_TYPES))}, enum or embedding"
    )


# --- key rules ----------------------------------------------------------------------------------


def key_problem(key: object, *, embedding_key: bool = False) -> str | None:
    """Why `key` cannot be a schema key, or None when it can."""
    if not isinstance(key, str) or key == "":
        return "a key must be a non-empty string"
    if key in RESERVED_KEYS or key.startswith("$"):
        return f"{key!r} is reserved by Encord; choose another name"
    if embedding_key:
        if _EMBEDDING_KEY_RE.fullmatch(key) is None:
            return (
                f"embedding key {key!r} may contain only letters, digits, hyphens and "
                "underscores (no spaces or periods)"
            )
        return None
    if _KEY_RE.fullmatch(key) is None:
        return (
            f"key {key!r} may contain only letters a-z/A-Z, digits, spaces, hyphens, "
            "underscores and periods"
        )
    if _SEPARATORS_ONLY_RE.fullmatch(key):
        return f"key {key!r} needs at least one letter or digit"
    return None


# --- the declared schema ------------------------------------------------------------------------


@dataclass(frozen=True)
class DeclaredSchema:
    """The schema the user declares. Build it with `DeclaredSchema.of(...)` or `load_schema(path)`.

    `delete` lists keys to delete from Encord (soft unless `hard_delete`); nothing else is ever
    deleted. `allow_type_changes` permits `set_scalar` on scalar keys whose type differs.
    """

    keys: Mapping[str, KeySpec]
    target: Target = "index"
    unknown_keys: UnknownKeyPolicy = "warn"
    delete: tuple[str, ...] = ()
    hard_delete: bool = False
    allow_type_changes: bool = False
    origin: str = "<python>"
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        problems = _schema_problems(self)
        if problems:
            raise SchemaError(
                f"metadata schema {self.origin} is invalid:\n  - " + "\n  - ".join(problems)
            )
        object.__setattr__(self, "warnings", tuple(_schema_warnings(self)))
        for warning in self.warnings:
            log.warning("metadata schema %s: %s", self.origin, warning)

    @classmethod
    def of(
        cls,
        *specs: KeySpec,
        target: Target = "index",
        unknown_keys: UnknownKeyPolicy = "warn",
        delete: Sequence[str] = (),
        hard_delete: bool = False,
        allow_type_changes: bool = False,
    ) -> DeclaredSchema:
        """Declare in Python: `DeclaredSchema.of(scalar("split", "varchar"), enum(...))`."""
        keys: dict[str, KeySpec] = {}
        for spec in specs:
            if spec.name in keys:
                raise SchemaError(f"metadata key {spec.name!r} is declared twice")
            keys[spec.name] = spec
        return cls(
            keys=keys,
            target=target,
            unknown_keys=unknown_keys,
            delete=tuple(delete),
            hard_delete=hard_delete,
            allow_type_changes=allow_type_changes,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, origin: str = "<dict>") -> DeclaredSchema:
        """Build from the YAML/JSON shape (see README: `keys:` maps each key to its type)."""
        if not isinstance(data, Mapping):
            raise SchemaError(f"metadata schema {origin}: expected a mapping at the top level")
        allowed = {"keys", "target", "unknown_keys", "delete", "hard_delete", "allow_type_changes"}
        extra = sorted(set(data) - allowed)
        if extra:
            raise SchemaError(
                f"metadata schema {origin}: unknown setting(s) {extra}; allowed: {sorted(allowed)}"
            )
        raw_keys = data.get("keys") or {}
        if not isinstance(raw_keys, Mapping):
            raise SchemaError(f"metadata schema {origin}: `keys` must map key names to types")
        keys = {
            str(name): _spec_from_yaml(str(name), value, origin) for name, value in raw_keys.items()
        }
        delete = data.get("delete") or ()
        if isinstance(delete, str) or not isinstance(delete, Sequence):
            raise SchemaError(f"metadata schema {origin}: `delete` must be a list of keys")
        return cls(
            keys=keys,
            target=data.get("target", "index"),
            unknown_keys=data.get("unknown_keys", "warn"),
            delete=tuple(str(k) for k in delete),
            hard_delete=bool(data.get("hard_delete", False)),
            allow_type_changes=bool(data.get("allow_type_changes", False)),
            origin=origin,
        )

    def to_dict(self) -> dict[str, Any]:
        """The YAML/JSON shape; `from_dict(to_dict())` round-trips."""
        keys: dict[str, Any] = {}
        for name, spec in self.keys.items():
            if isinstance(spec, ScalarKey):
                keys[name] = spec.type
            elif isinstance(spec, EnumKey):
                keys[name] = {"enum": list(spec.values)}
            else:
                keys[name] = {"embedding": spec.size}
        return {
            "target": self.target,
            "unknown_keys": self.unknown_keys,
            "allow_type_changes": self.allow_type_changes,
            "delete": list(self.delete),
            "hard_delete": self.hard_delete,
            "keys": keys,
        }


def _spec_from_yaml(name: str, value: Any, origin: str) -> KeySpec:
    try:
        return _parse_spec(name, value, origin)
    except SchemaError as error:
        if origin in str(error):
            raise
        raise SchemaError(f"metadata schema {origin}: {error}") from None


def _parse_spec(name: str, value: Any, origin: str) -> KeySpec:
    where = f"metadata schema {origin}, key {name!r}"
    if isinstance(value, str):
        if value in ("enum", "embedding"):
            raise SchemaError(f"{where}: {value} needs options, e.g. {{{value}: ...}}")
        return ScalarKey(name, _resolve_scalar_type(name, value))
    if not isinstance(value, Mapping):
        raise SchemaError(f"{where}: expected a type name or a mapping, got {value!r}")
    if "enum" in value:
        options = value["enum"]
        if isinstance(options, str) or not isinstance(options, Sequence):
            raise SchemaError(f"{where}: enum options must be a list of strings")
        return EnumKey(name, tuple(options))
    if "embedding" in value:
        return EmbeddingKey(name, value["embedding"])
    type_name = value.get("type")
    if type_name == "enum":
        return EnumKey(name, tuple(value.get("values") or ()))
    if type_name == "embedding":
        return EmbeddingKey(name, value.get("size"))  # type: ignore[arg-type]  # checked later
    if isinstance(type_name, str):
        return ScalarKey(name, _resolve_scalar_type(name, type_name))
    raise SchemaError(f"{where}: expected `type:`, `enum:` or `embedding:`, got {dict(value)!r}")


def _schema_problems(schema: DeclaredSchema) -> list[str]:
    problems: list[str] = []
    if schema.target not in EMBEDDING_MAX_SIZE:
        problems.append(f"target must be 'index' or 'active', got {schema.target!r}")
    if schema.unknown_keys not in UNKNOWN_KEY_POLICIES:
        problems.append(
            f"unknown_keys must be one of allow, warn, reject; got {schema.unknown_keys!r}"
        )
    max_size = EMBEDDING_MAX_SIZE.get(schema.target, 4096)
    for name, spec in schema.keys.items():
        if name != spec.name:
            problems.append(f"key {name!r} is declared under a different name {spec.name!r}")
        problem = key_problem(name, embedding_key=isinstance(spec, EmbeddingKey))
        if problem:
            problems.append(problem)
        if isinstance(spec, ScalarKey) and spec.type not in SCALAR_TYPES:
            problems.append(f"key {name!r}: unknown scalar type {spec.type!r}")
        elif isinstance(spec, EnumKey):
            problems.extend(_enum_problems(name, spec.values))
        elif isinstance(spec, EmbeddingKey):
            size = spec.size
            if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= max_size:
                problems.append(
                    f"embedding {name!r}: size must be an integer from 1 to {max_size} "
                    f"(target {schema.target}), got {size!r}"
                )
    for name in schema.delete:
        if name in schema.keys:
            problems.append(f"key {name!r} is both declared and listed under delete")
    return problems


def _enum_problems(name: str, values: Sequence[object]) -> list[str]:
    if not values:
        return [f"enum {name!r}: needs at least one option"]
    if len(values) > ENUM_MAX_OPTIONS:
        return [f"enum {name!r}: at most {ENUM_MAX_OPTIONS} options, got {len(values)}"]
    bad = [v for v in values if not isinstance(v, str) or v == ""]
    if bad:
        return [f"enum {name!r}: options must be non-empty strings, got {bad[:3]!r}"]
    if len(set(values)) != len(values):
        return [f"enum {name!r}: options repeat"]
    return []


def _schema_warnings(schema: DeclaredSchema) -> list[str]:
    """Legal but probably unintended: keys equal up to case (keys are case sensitive)."""
    by_fold: dict[str, list[str]] = {}
    for name in schema.keys:
        by_fold.setdefault(name.casefold(), []).append(name)
    return [
        f"keys {sorted(names)} differ only by case; Encord keeps them as separate keys"
        for names in by_fold.values()
        if len(names) > 1
    ]


def load_schema(path: str | Path) -> DeclaredSchema:
    """Load a declared schema from a YAML (or JSON) file."""
    import yaml

    file_path = Path(path)
    try:
        text = file_path.read_text(encoding="utf-8")
    except OSError as error:
        raise SchemaError(f"metadata schema {file_path}: cannot read ({error.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SchemaError(f"metadata schema {file_path}: not valid YAML ({error})") from None
    return DeclaredSchema.from_dict(data or {}, origin=str(file_path))


# --- live schema and the diff -------------------------------------------------------------------


LiveKind = Literal["scalar", "enum", "embedding", "geospatial", "user", "deleted"]


@dataclass(frozen=True, slots=True)
class LiveKey:
    """One key of the live schema, independent of the SDK's classes.

    For a deleted key (tombstone) `deleted_spec` is the old type when soft-deleted, None when hard.
    `variant` tells whether a scalar is a `variant` (the only kind `set_scalar` can change).
    """

    name: str
    kind: LiveKind
    type: str | None = None
    values: tuple[str, ...] = ()
    size: int | None = None
    variant: bool = True
    deleted_spec: LiveKey | None = None

    def describe(self) -> str:
        if self.kind == "scalar":
            return str(self.type)
        if self.kind == "enum":
            return f"enum{sorted(self.values)}"
        if self.kind == "embedding":
            return f"embedding(size={self.size})"
        if self.kind == "deleted":
            return "deleted" if self.deleted_spec else "hard-deleted"
        return self.kind


ActionName = Literal[
    "add_scalar", "add_enum", "add_enum_options", "add_embedding", "set_scalar", "restore_key",
    "delete_key",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class SchemaAction:
    """One SDK call on `MetadataSchema`, in order."""

    action: ActionName
    key: str
    type: str | None = None
    values: tuple[str, ...] = ()
    size: int | None = None
    hard: bool = False

    def describe(self) -> str:
        if self.action in ("add_scalar", "set_scalar"):
            return f"{self.action}({self.key!r}, {self.type})"
        if self.action in ("add_enum", "add_enum_options"):
            return f"{self.action}({self.key!r}, {list(self.values)})"
        if self.action == "add_embedding":
            return f"add_embedding({self.key!r}, size={self.size})"
        if self.action == "delete_key":
            return f"delete_key({self.key!r}, hard={self.hard})"
        return f"{self.action}({self.key!r})"


@dataclass(frozen=True)
class SchemaPlan:
    """What `metadata_schema` will do: actions to apply, conflicts that block, keys left alone."""

    actions: tuple[SchemaAction, ...]
    conflicts: tuple[str, ...]
    kept_undeclared: tuple[str, ...]
    unchanged: tuple[str, ...]

    @property
    def is_noop(self) -> bool:
        return not self.actions and not self.conflicts


def live_matches(spec: KeySpec, live: LiveKey) -> bool:
    """True when the live key already holds the declared type (enum: a superset of options)."""
    if isinstance(spec, ScalarKey):
        return live.kind == "scalar" and live.type == spec.type
    if isinstance(spec, EnumKey):
        return live.kind == "enum" and set(spec.values) <= set(live.values)
    return live.kind == "embedding" and live.size == spec.size


def diff_schema(declared: DeclaredSchema, live: Mapping[str, LiveKey]) -> SchemaPlan:
    """Diff the declaration against the live schema. Undeclared live keys are always kept."""
    actions: list[SchemaAction] = []
    conflicts: list[str] = []
    unchanged: list[str] = []
    for name, spec in declared.keys.items():
        current = live.get(name)
        if current is None:
            actions.append(_add_action(spec))
            continue
        if current.kind == "deleted":
            if current.deleted_spec is None:
                conflicts.append(
                    f"key {name!r} was hard-deleted in Encord and cannot be reused; "
                    "declare it under a new name"
                )
                continue
            actions.append(SchemaAction("restore_key", name))
            current = current.deleted_spec
        if live_matches(spec, current):
            if actions and actions[-1] == SchemaAction("restore_key", name):
                continue
            unchanged.append(name)
            continue
        change, conflict = _change_action(declared, spec, current)
        if change:
            actions.append(change)
        if conflict:
            conflicts.append(conflict)
    for name in declared.delete:
        current = live.get(name)
        if current is None or current.kind == "deleted":
            continue  # already gone: deleting is idempotent
        actions.append(SchemaAction("delete_key", name, hard=declared.hard_delete))
    kept = tuple(
        sorted(
            name
            for name, key in live.items()
            if name not in declared.keys and name not in declared.delete and key.kind != "deleted"
        )
    )
    return SchemaPlan(tuple(actions), tuple(conflicts), kept, tuple(unchanged))


def _add_action(spec: KeySpec) -> SchemaAction:
    if isinstance(spec, ScalarKey):
        return SchemaAction("add_scalar", spec.name, type=spec.type)
    if isinstance(spec, EnumKey):
        return SchemaAction("add_enum", spec.name, values=spec.values)
    return SchemaAction("add_embedding", spec.name, size=spec.size)


def _change_action(
    declared: DeclaredSchema, spec: KeySpec, live: LiveKey
) -> tuple[SchemaAction | None, str | None]:
    name = spec.name
    found = f"Encord has {live.describe()}, the schema declares {spec.describe()}"
    if isinstance(spec, EnumKey) and live.kind == "enum":
        missing = tuple(v for v in spec.values if v not in live.values)
        return SchemaAction("add_enum_options", name, values=missing), None
    if isinstance(spec, ScalarKey) and live.kind == "scalar":
        if not live.variant:
            return None, f"key {name!r}: {found}; this key's type cannot be changed through the SDK"
        safe = (live.type, spec.type) in SAFE_SCALAR_CHANGES
        if safe or declared.allow_type_changes:
            return SchemaAction("set_scalar", name, type=spec.type), None
        return None, (
            f"key {name!r}: {found}; changing the type can make stored values invalid. "
            "Set allow_type_changes: true to change it, or declare a new key"
        )
    if isinstance(spec, EmbeddingKey) and live.kind == "embedding":
        return None, (
            f"embedding {name!r}: {found}; an embedding's size cannot change. "
            "Declare a new embedding key"
        )
    return None, f"key {name!r}: {found}; a key cannot change kind. Declare a new key"


_DIRECT_SCALARS = frozenset({"number", "boolean", "varchar", "datetime", "text", "uuid"})


def live_key_from_wire(name: str, descriptor: Mapping[str, Any] | None) -> LiveKey:
    """One key of Encord's schema wire format (`{"ty": "variant", "hint": "varchar"}`, ...)."""
    descriptor = descriptor or {}
    ty = descriptor.get("ty")
    if ty == "variant":
        hint = str(descriptor.get("hint") or "text")
        return LiveKey(name, "scalar", type=SCALAR_ALIASES.get(hint, hint), variant=True)
    if ty in _DIRECT_SCALARS:
        return LiveKey(name, "scalar", type=str(ty), variant=False)
    if ty == "enum":
        return LiveKey(name, "enum", values=tuple(descriptor.get("values") or ()))
    if ty == "embedding":
        return LiveKey(name, "embedding", size=int(descriptor.get("size") or 0))
    if ty == "tombstone":
        old = descriptor.get("deleted_ty")
        return LiveKey(name, "deleted", deleted_spec=live_key_from_wire(name, old) if old else None)
    if ty == "geospatial":
        return LiveKey(name, "geospatial")
    return LiveKey(name, "user")


def live_schema_from_wire(wire: Mapping[str, Any] | None) -> dict[str, LiveKey]:
    """The whole live schema (`GET organisation/client-metadata-schema-v2`) as LiveKeys."""
    return {name: live_key_from_wire(name, descriptor) for name, descriptor in (wire or {}).items()}
