"""Keeping Encord's metadata schema in sync with the declared one (no Dagster): load the live
schema, diff, apply the safe actions, save, reload and verify. Three requests when something
changes (load, save, reload), one when the schema is already in sync.

A save replaces the whole schema, so the plan is applied to the schema as loaded: keys that exist
in Encord but are not declared travel along and are never lost. Conflicts (a type change that is
not allowed, a hard-deleted key) raise SchemaError before anything is saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dagster_encord.errors import SchemaError
from dagster_encord.metadata.schema import (
    DeclaredSchema,
    LiveKey,
    SchemaPlan,
    diff_schema,
    live_schema_from_wire,
)

if TYPE_CHECKING:
    from dagster_encord.encord_client.client import EncordClient


@dataclass(frozen=True)
class SchemaSyncResult:
    """What the sync did. `verified` is True when the reloaded schema matches the declaration
    and still holds every key that was live before."""

    plan: SchemaPlan
    applied: bool
    verified: bool
    live_key_count: int
    actions: tuple[str, ...] = ()


def load_live_schema(client: EncordClient) -> dict[str, LiveKey]:
    """The live schema as LiveKeys (one request)."""
    return live_schema_from_wire(client.load_metadata_schema().wire)


def sync_schema(
    client: EncordClient, declared: DeclaredSchema, *, dry_run: bool = False
) -> SchemaSyncResult:
    """Load the live schema, diff, apply the safe actions, save, reload and verify."""
    loaded = client.load_metadata_schema()
    before = live_schema_from_wire(loaded.wire)
    plan = diff_schema(declared, before)
    if plan.conflicts:
        raise SchemaError(
            f"metadata schema {declared.origin} cannot be applied safely; nothing was saved:\n  - "
            + "\n  - ".join(plan.conflicts)
        )
    described = tuple(action.describe() for action in plan.actions)
    if dry_run or not plan.actions:
        return SchemaSyncResult(plan, False, not plan.actions, len(before), described)
    try:
        client.save_metadata_schema(loaded, plan.actions)
    except SchemaError as error:
        raise SchemaError(f"metadata schema {declared.origin}: {error}") from None
    after = load_live_schema(client)
    problems = verify_schema(declared, before, after)
    if problems:
        raise SchemaError(
            f"metadata schema {declared.origin} was saved but the reloaded schema does not match:"
            "\n  - " + "\n  - ".join(problems)
        )
    return SchemaSyncResult(plan, True, True, len(after), described)


def verify_schema(
    declared: DeclaredSchema, before: Mapping[str, LiveKey], after: Mapping[str, LiveKey]
) -> list[str]:
    """Problems with a reloaded schema: declared keys not in place, keys lost, deletes not done."""
    problems = [f"after saving: {c}" for c in diff_schema(declared, after).conflicts]
    remaining = diff_schema(declared, after).actions
    problems += [f"still pending after saving: {a.describe()}" for a in remaining]
    for name in before:
        if name not in after:
            problems.append(f"key {name!r} existed before the save and is gone")
    return problems
