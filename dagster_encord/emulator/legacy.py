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


def dataset_or_403(ctx: Ctx, *, admin: bool = False) -> Dataset:
    """The request's dataset if the user sees it (`admin`: and may change it), else a 403."""
    dataset_hash = resource_id(ctx, "dataset")
    dataset = ctx.state.datasets.get(dataset_hash)
    role = dataset.role_of(ctx.user) if dataset is not None else None
    if dataset is None or role is None:
        raise ApiError(403, f"dataset {dataset_hash} does not exist or you have no access to it")
    if admin and role != "admin":
        raise ApiError(
            403, f"user {ctx.user} has role {role} on dataset {dataset_hash}; this needs admin"
        )
    return dataset


def project_for(ctx: Ctx, project_hash: str, *, admin: bool = False) -> Project:
    """The project if the user has a role on it (`admin`: the admin role), else Encord's 403."""
    project = ctx.state.projects.get(project_hash)
    role = project.role_of(ctx.user) if project is not None else None
    if project is None or role is None:
        raise ApiError(403, f"project {project_hash} does not exist or you have no access to it")
    if admin and role != 0:
        raise ApiError(
            403, f"user {ctx.user} has role {role} on project {project_hash}; this needs admin (0)"
        )
    return project


def project_or_403(ctx: Ctx, *, admin: bool = False) -> Project:
    """The request's project (ResourceID), checked as `project_for` does."""
    return project_for(ctx, resource_id(ctx, "project"), admin=admin)


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
