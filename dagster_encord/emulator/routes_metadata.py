"""v2 metadata-schema routes: the v2 schema (saving replaces it) and the legacy dict schema."""

from __future__ import annotations

from typing import Any

from dagster_encord.emulator.context import Ctx
from dagster_encord.emulator.metadata import (
    SCHEMA_LEGACY,
    SCHEMA_V2,
    validate_legacy_schema,
    validate_schema_v2,
)
from dagster_encord.emulator.records import new_uuid


def get_schema_v2(ctx: Ctx) -> dict[str, Any]:
    return ctx.state.org(SCHEMA_V2) or {}


def save_schema_v2(ctx: Ctx) -> dict[str, Any]:
    schema = validate_schema_v2(ctx.json())
    with ctx.state.lock:
        ctx.state.set_org(SCHEMA_V2, schema)
    return {}


def get_legacy_schema(ctx: Ctx) -> dict[str, Any] | None:
    return ctx.state.org(SCHEMA_LEGACY)


def save_legacy_schema(ctx: Ctx) -> dict[str, Any]:
    schema = validate_legacy_schema(ctx.json())
    with ctx.state.lock:
        previous = ctx.state.org(SCHEMA_LEGACY)
        stamp = ctx.state.clock.now_iso()
        ctx.state.set_org(
            SCHEMA_LEGACY,
            {
                "uuid": previous["uuid"] if previous else new_uuid(),
                "metadataSchema": schema,
                "organisationId": 1,
                "createdAt": previous["createdAt"] if previous else stamp,
                "updatedAt": stamp,
            },
        )
    return {}


ROUTES = [
    ("GET", "/v2/public/organisation/client-metadata-schema-v2", get_schema_v2),
    ("POST", "/v2/public/organisation/client-metadata-schema-v2", save_schema_v2),
    ("GET", "/v2/public/organisation/client-metadata-schema", get_legacy_schema),
    ("POST", "/v2/public/organisation/client-metadata-schema", save_legacy_schema),
]
