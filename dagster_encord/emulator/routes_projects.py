"""v2 dataset, project and ontology routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dagster_encord.emulator.context import Ctx
from dagster_encord.emulator.legacy import like, project_for
from dagster_encord.emulator.records import Dataset, Folder, Ontology, Project, new_uuid
from dagster_encord.emulator.wire import OWNER, ApiError


def create_dataset(ctx: Ctx) -> dict[str, Any]:
    body = ctx.json_object({"title", "description", "createBackingFolder", "legacyCall"})
    title = body.get("title")
    if not isinstance(title, str) or not title:
        raise ApiError(400, "dataset title must be a non-empty string")
    stamp = ctx.state.clock.now_iso()
    dataset = Dataset(
        new_uuid(),
        title,
        str(body.get("description") or ""),
        stamp,
        stamp,
        user_roles={ctx.user: "admin"},
    )
    records: list[Any] = [dataset]
    if body.get("createBackingFolder"):
        folder = Folder(
            new_uuid(), title, "", None, None, stamp, stamp, synced_dataset_hash=dataset.uuid
        )
        dataset.backing_folder_uuid = folder.uuid
        records.append(folder)
    ctx.state.save_many(records)
    return {"datasetUuid": dataset.uuid, "backingFolderUuid": dataset.backing_folder_uuid}


def list_datasets(ctx: Ctx) -> dict[str, Any]:
    title_eq = ctx.query.get("titleEq")
    title_like = (ctx.query.get("titleLike") or "").replace("%", "").lower()
    with ctx.state.lock:
        return {
            "result": [
                {
                    "datasetUuid": d.uuid,
                    "title": d.title,
                    "description": d.description,
                    "createdAt": d.created_at,
                    "lastEditedAt": d.last_edited_at,
                    "userRole": d.role_of(ctx.user),
                    "backingFolderUuid": d.backing_folder_uuid,
                }
                for d in ctx.state.datasets.values()
                if d.role_of(ctx.user) is not None
                and (title_eq is None or d.title == title_eq)
                and title_like in d.title.lower()
            ]
        }


def project_json(ctx: Ctx, project: Project) -> dict[str, Any]:
    ontology = ctx.state.ontologies.get(project.ontology_hash)
    body = {
        "projectHash": project.uuid,
        "projectType": "workflow" if project.stages else "manual_qa",
        "status": "inProgress",
        "title": project.title,
        "description": project.description,
        "createdAt": project.created_at,
        "creatorEmail": OWNER,
        "lastEditedAt": project.last_edited_at,
        "ontologyHash": project.ontology_hash,
        "editorOntology": ontology.editor if ontology else {},
        "userRole": project.role_of(ctx.user),
    }
    if project.stages:
        body["workflow"] = {"stages": [dict(stage) for stage in project.stages]}
    return body


def project_or_403(ctx: Ctx, project_hash: str) -> Project:
    return project_for(ctx, project_hash)


def get_project(ctx: Ctx) -> dict[str, Any]:
    with ctx.state.lock:
        return project_json(ctx, project_or_403(ctx, ctx.path_params["project_hash"]))


def _title_filter(ctx: Ctx) -> Callable[[str], bool]:
    """The `titleEq` / `titleLike` (SQL LIKE) filters of the project and ontology listings."""
    title_eq = ctx.query.get("titleEq")
    title_like = like(ctx.query["titleLike"]) if ctx.query.get("titleLike") else None
    return lambda title: (
        (title_eq is None or title == title_eq) and (title_like is None or title_like(title))
    )


def list_projects(ctx: Ctx) -> dict[str, Any]:
    matches = _title_filter(ctx)
    with ctx.state.lock:
        projects = sorted(
            (
                p
                for p in ctx.state.projects.values()
                if p.role_of(ctx.user) is not None and matches(p.title)
            ),
            key=lambda p: p.created_at,
        )
        return ctx.page(projects, lambda p: project_json(ctx, p))


def project_datasets(ctx: Ctx) -> dict[str, Any]:
    with ctx.state.lock:
        project = project_or_403(ctx, ctx.path_params["project_hash"])
        datasets = [
            ctx.state.datasets[h] for h in project.dataset_hashes if h in ctx.state.datasets
        ]
        return {
            "results": [
                {"datasetHash": d.uuid, "title": d.title, "description": d.description}
                for d in datasets
            ]
        }


def remove_project_users(ctx: Ctx) -> dict[str, Any]:
    """`project.remove_users(emails)`: admins take roles away; emails without one are ignored."""
    emails = ctx.json_object({"userEmails"}).get("userEmails")
    if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
        raise ApiError(400, "userEmails must be a list of emails")
    with ctx.state.lock:
        project = project_for(ctx, ctx.path_params["project_hash"], admin=True)
        if not project.user_roles:
            project.user_roles = {ctx.user: 0}
        for email in emails:
            project.user_roles.pop(email, None)
        ctx.state.save(project)
    return {}


def ontology_json(ontology: Ontology) -> dict[str, Any]:
    return {
        "ontologyUuid": ontology.uuid,
        "title": ontology.title,
        "description": ontology.description,
        "editor": ontology.editor,
        "createdAt": ontology.created_at,
        "lastEditedAt": ontology.last_edited_at,
        "userRole": 0,
    }


def _editor(body: dict[str, Any]) -> dict[str, Any]:
    editor = body.get("editor") or {"objects": [], "classifications": []}
    if not isinstance(editor, dict) or not isinstance(editor.get("objects", []), list):
        raise ApiError(400, "editor must be an ontology structure with objects and classifications")
    editor.setdefault("objects", [])
    editor.setdefault("classifications", [])
    return editor


def create_ontology(ctx: Ctx) -> dict[str, Any]:
    body = ctx.json_object({"title", "description", "editor"})
    if not isinstance(body.get("title"), str) or not body["title"]:
        raise ApiError(400, "ontology title must be a non-empty string")
    stamp = ctx.state.clock.now_iso()
    ontology = Ontology(
        new_uuid(), body["title"], str(body.get("description") or ""), _editor(body), stamp, stamp
    )
    ctx.state.save(ontology)
    return ontology_json(ontology)


def ontology_or_403(ctx: Ctx) -> Ontology:
    ontology = ctx.state.ontologies.get(ctx.path_params["ontology_hash"])
    if ontology is None:
        raise ApiError(
            403,
            f"ontology {ctx.path_params['ontology_hash']} does not exist or is not accessible",
        )
    return ontology


def get_ontology(ctx: Ctx) -> dict[str, Any]:
    return ontology_json(ontology_or_403(ctx))


def save_ontology(ctx: Ctx) -> dict[str, Any]:
    body = ctx.json_object({"title", "description", "editor"})
    with ctx.state.lock:
        ontology = ontology_or_403(ctx)
        ontology.title = str(body.get("title") or ontology.title)
        ontology.description = str(body.get("description") or "")
        ontology.editor = _editor(body)
        ontology.last_edited_at = ctx.state.clock.now_iso()
        ctx.state.save(ontology)
    return {}


def list_ontologies(ctx: Ctx) -> dict[str, Any]:
    matches = _title_filter(ctx)
    with ctx.state.lock:
        return {
            "results": [ontology_json(o) for o in ctx.state.ontologies.values() if matches(o.title)]
        }


ROUTES = [
    ("POST", "/v2/public/datasets", create_dataset),
    ("GET", "/v2/public/datasets/list", list_datasets),
    ("GET", "/v2/public/projects", list_projects),
    ("GET", "/v2/public/projects/{project_hash}", get_project),
    ("GET", "/v2/public/projects/{project_hash}/datasets", project_datasets),
    ("POST", "/v2/public/projects/{project_hash}/users/bulk-delete", remove_project_users),
    ("GET", "/v2/public/ontologies", list_ontologies),
    ("POST", "/v2/public/ontologies", create_ontology),
    ("GET", "/v2/public/ontologies/{ontology_hash}", get_ontology),
    ("PUT", "/v2/public/ontologies/{ontology_hash}", save_ontology),
]
