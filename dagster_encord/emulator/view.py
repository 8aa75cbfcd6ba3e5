"""A small read-only HTML view of the emulator's state, so a link in the Dagster UI opens
something a person can read (Encord's own app pages play this part on a real domain).

  GET /view                       folders, datasets and projects
  GET /view/folders/{uuid}        a folder's items (name, type, URL, clientMetadata)
  GET /view/datasets/{uuid}       a dataset's data rows and their items
  GET /view/projects/{uuid}       a project's datasets, label rows by status, tasks per stage

Unauthenticated like the control API (the emulator binds to 127.0.0.1); every value is escaped.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from dagster_encord.emulator.core import EmulatorCore
from dagster_encord.emulator.records import Project
from dagster_encord.emulator.state import EmulatorState

PREFIX = "/view"
ROW_LIMIT = 1000  # a page for people, not an export


def folder_path(folder_uuid: str) -> str:
    return f"{PREFIX}/folders/{folder_uuid}"


def dataset_path(dataset_uuid: str) -> str:
    return f"{PREFIX}/datasets/{dataset_uuid}"


def project_path(project_uuid: str) -> str:
    return f"{PREFIX}/projects/{project_uuid}"


def _page(title: str, *sections: str, status: int = 200) -> HTMLResponse:
    body = "".join(sections)
    return HTMLResponse(
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{escape(title)} · Encord emulator</title>"
        "<style>body{font:14px system-ui;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style></head>"
        f"<body><p><a href='{PREFIX}'>Encord emulator</a></p><h1>{escape(title)}</h1>"
        f"{body}</body></html>",
        status_code=status,
    )


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Cells are already-escaped HTML (links) or plain text escaped by `_cell`."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    lines = [f"<tr>{''.join(f'<td>{cell}</td>' for cell in row)}</tr>" for row in rows]
    return f"<table><tr>{head}</tr>{''.join(lines) or '<tr><td>none</td></tr>'}</table>"


def _cell(value: Any) -> str:
    if isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True)
    return escape("" if value is None else str(value))


def _link(path: str, text: str) -> str:
    return f"<a href='{escape(path)}'>{escape(text)}</a>"


def _not_found(what: str, key: str) -> HTMLResponse:
    return _page(f"{what} not found", f"<p>{escape(key)}</p>", status=404)


def _index(state: EmulatorState, _: str) -> HTMLResponse:
    counts = Counter(item.parent for item in state.items.values())
    folders = [
        (_link(folder_path(f.uuid), f.name), _cell(counts[f.uuid]))
        for f in sorted(state.folders.values(), key=lambda f: f.name)
    ]
    datasets = [
        (_link(dataset_path(d.uuid), d.title), _cell(len(d.data_hashes)))
        for d in sorted(state.datasets.values(), key=lambda d: d.title)
    ]
    projects = [
        (_link(project_path(p.uuid), p.title), _cell(_kind(p)), _cell(len(p.dataset_hashes)))
        for p in sorted(state.projects.values(), key=lambda p: p.title)
    ]
    return _page(
        "Encord emulator",
        "<h2>Folders</h2>",
        _table(["folder", "items"], folders),
        "<h2>Datasets</h2>",
        _table(["dataset", "data rows"], datasets),
        "<h2>Projects</h2>",
        _table(["project", "type", "datasets"], projects),
    )


def _kind(project: Project) -> str:
    # What the SDK reports as projectType: a project with stages is a workflow project.
    return "workflow" if project.stages else "manual QA"


def _folder(state: EmulatorState, folder_uuid: str) -> HTMLResponse:
    folder = state.folders.get(folder_uuid)
    if folder is None:
        return _not_found("folder", folder_uuid)
    items = sorted(
        (i for i in state.items.values() if i.parent == folder_uuid), key=lambda i: i.name
    )
    rows = [
        (_cell(i.name), _cell(i.item_type), _cell(i.url), _cell(i.client_metadata or ""))
        for i in items[:ROW_LIMIT]
    ]
    return _page(
        f"Folder {folder.name}",
        f"<p>{len(items)} items</p>",
        _table(["name", "type", "url", "clientMetadata"], rows),
    )


def _dataset(state: EmulatorState, dataset_uuid: str) -> HTMLResponse:
    dataset = state.datasets.get(dataset_uuid)
    if dataset is None:
        return _not_found("dataset", dataset_uuid)
    rows = []
    for data_hash in dataset.data_hashes[:ROW_LIMIT]:
        row = state.data_rows.get(data_hash)
        item = state.items.get(row.item_uuid) if row is not None else None
        rows.append((_cell(data_hash), _cell(item.name if item else "?"), _cell(item and item.url)))
    return _page(
        f"Dataset {dataset.title}",
        f"<p>{len(dataset.data_hashes)} data rows</p>",
        _table(["data hash", "item", "url"], rows),
    )


def _project(state: EmulatorState, project_uuid: str) -> HTMLResponse:
    project = state.projects.get(project_uuid)
    if project is None:
        return _not_found("project", project_uuid)
    datasets = [
        _link(dataset_path(h), state.datasets[h].title) if h in state.datasets else _cell(h)
        for h in project.dataset_hashes
    ]
    statuses = Counter(
        row.label_status for row in state.label_rows.values() if row.project_hash == project_uuid
    )
    stage_titles = {stage["uuid"]: stage["title"] for stage in project.stages}
    tasks = Counter(
        stage_titles.get(task.stage_uuid, task.stage_uuid)
        for task in state.tasks.values()
        if task.project_hash == project_uuid
    )
    return _page(
        f"Project {project.title}",
        f"<p>{escape(_kind(project))} project</p>",
        "<h2>Datasets</h2>",
        _table(["dataset"], [(d,) for d in datasets]),
        "<h2>Label rows by status</h2>",
        _table(
            ["status", "label rows"], [(_cell(s), _cell(n)) for s, n in sorted(statuses.items())]
        ),
        "<h2>Tasks by stage</h2>",
        _table(
            ["stage", "tasks"],
            [(_cell(t), _cell(tasks.get(t, 0))) for t in [s["title"] for s in project.stages]],
        ),
    )


def routes(core: EmulatorCore) -> list[Route]:
    state = core.state

    def page(template: str, render: Callable[[EmulatorState, str], HTMLResponse]) -> Route:
        async def run(request: Request) -> HTMLResponse:
            core.counters.hit(f"view GET {template}")
            with state.lock:
                return render(state, str(request.path_params.get("uuid", "")))

        return Route(template, run, methods=["GET"])

    return [
        page(PREFIX, _index),
        page(f"{PREFIX}/folders/{{uuid}}", _folder),
        page(f"{PREFIX}/datasets/{{uuid}}", _dataset),
        page(f"{PREFIX}/projects/{{uuid}}", _project),
    ]
