"""Shared pieces of the legacy RPC handlers: resource headers, payloads, times, LIKE patterns."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

from dagster_encord.emulator.context import Ctx
from dagster_encord.emulator.records import Dataset, Project
from dagster_encord.emulator.wire import ApiError

LegacyHandler = Callable[[Ctx, dict[str, Any]], Any]


def resource_id(ctx: Ctx, expected: str) -> str:
    if ctx.headers.get("resourcetype") != expected:
        raise ApiError(400, f"this query needs ResourceType: {expected}")
    return ctx.headers.get("resourceid", "")


def dataset_or_403(ctx: Ctx) -> Dataset:
    dataset_hash = resource_id(ctx, "dataset")
    dataset = ctx.state.datasets.get(dataset_hash)
    if dataset is None:
        raise ApiError(403, f"dataset {dataset_hash} does not exist or you have no access to it")
    return dataset


def project_or_403(ctx: Ctx) -> Project:
    project_hash = resource_id(ctx, "project")
    project = ctx.state.projects.get(project_hash)
    if project is None:
        raise ApiError(403, f"project {project_hash} does not exist or you have no access to it")
    return project


def payload_of(values: dict[str, Any]) -> dict[str, Any]:
    payload = values.get("payload") or {}
    if not isinstance(payload, dict):
        raise ApiError(400, "values.payload must be an object")
    return payload


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        raise ApiError(400, f"{value!r} is not an ISO 8601 datetime") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def like(pattern: str) -> Callable[[str], bool]:
    glob = pattern.replace("*", "[*]").replace("?", "[?]").replace("%", "*").replace("_", "?")
    return lambda text: fnmatchcase(text.lower(), glob.lower())
