"""Encord's metadata schema through the SDK: load it, and save edits to it. `EncordClient` gets
these methods from `MetadataSchemaCalls`; deciding which edits to make is the caller's job.

A save replaces the whole schema, so edits are applied to the schema object as loaded: keys that
exist in Encord but are not edited travel along and are never lost.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from dagster_encord.encord_client.calls import SdkCalls
from dagster_encord.encord_client.sdk_errors import translate_sdk_error
from dagster_encord.errors import SchemaError

if TYPE_CHECKING:
    from encord.metadata_schema import MetadataSchema


class SchemaEdit(Protocol):
    """One edit of the schema, as the SDK's `MetadataSchema` method of the same name takes it:
    `add_scalar`, `set_scalar` (type), `add_enum`, `add_enum_options` (values), `add_embedding`
    (size), `restore_key`, `delete_key` (hard). `metadata.schema.SchemaAction` is one."""

    @property
    def action(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def type(self) -> str | None: ...
    @property
    def values(self) -> tuple[str, ...]: ...
    @property
    def size(self) -> int | None: ...
    @property
    def hard(self) -> bool: ...
    def describe(self) -> str: ...


@dataclass(frozen=True)
class LoadedSchema:
    """The live schema as loaded. `wire` maps key -> Encord's descriptor (`{"ty": "variant",
    "hint": "varchar"}`, ...): the only public view that keeps a soft-deleted key's old type.
    Save edits to it once; load again to see the result."""

    wire: Mapping[str, Any]
    _sdk_schema: Any = field(default=None, repr=False, compare=False)


class MetadataSchemaCalls(SdkCalls):
    """The metadata-schema calls of `EncordClient` (which holds the SDK client)."""

    def load_metadata_schema(self) -> LoadedSchema:
        """The organisation's metadata schema (one request)."""
        try:
            sdk_schema = self._user_client.metadata_schema()
            # repr(MetadataSchema) is its wire JSON.
            return LoadedSchema(json.loads(repr(sdk_schema)), sdk_schema)
        except Exception as error:
            raise translate_sdk_error(error, "loading the metadata schema") from None

    def save_metadata_schema(self, loaded: LoadedSchema, edits: Sequence[SchemaEdit]) -> None:
        """Apply `edits` in order to the schema as loaded and save it (one request).

        An edit the SDK refuses raises SchemaError before anything is saved.
        """
        from encord.metadata_schema import MetadataSchemaError

        if loaded._sdk_schema is None:
            raise ValueError("save a schema loaded with load_metadata_schema")
        sdk_schema: MetadataSchema = loaded._sdk_schema
        for edit in edits:
            try:
                _apply(sdk_schema, edit)
            except (MetadataSchemaError, ValueError) as error:
                raise SchemaError(
                    f"{edit.describe()} refused by the SDK ({error}); nothing was saved"
                ) from None
        try:
            sdk_schema.save()
        except Exception as error:
            raise translate_sdk_error(error, "saving the metadata schema") from None


def _apply(sdk_schema: MetadataSchema, edit: SchemaEdit) -> None:
    key = edit.key
    if edit.action == "add_scalar":
        sdk_schema.add_scalar(key, data_type=edit.type)  # type: ignore[arg-type]
    elif edit.action == "set_scalar":
        sdk_schema.set_scalar(key, data_type=edit.type)  # type: ignore[arg-type]
    elif edit.action == "add_enum":
        sdk_schema.add_enum(key, values=list(edit.values))
    elif edit.action == "add_enum_options":
        sdk_schema.add_enum_options(key, values=list(edit.values))
    elif edit.action == "add_embedding":
        sdk_schema.add_embedding(key, size=int(edit.size or 0))
    elif edit.action == "restore_key":
        sdk_schema.restore_key(key)
    elif edit.action == "delete_key":
        sdk_schema.delete_key(key, hard=edit.hard)
    else:
        raise ValueError(f"unknown metadata schema edit {edit.action!r}")
