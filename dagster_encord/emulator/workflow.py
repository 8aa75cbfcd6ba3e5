"""Workflow projects: templates, stages, tasks and the moves between stages (no HTTP here).

A project created with `workflow_template_hash` copies the template's stages (uuids included).
The built-in template `DEFAULT_WORKFLOW_TEMPLATE_UUID` is Annotate 1 -> Review 1 -> Complete with
the fixed stage uuids in `DEFAULT_STAGES`; more come from `EncordEmulator.add_workflow_template`.

Every data unit in a workflow project's datasets has one task. It is created in the first stage
when the data is attached (project creation, `add_datasets`, `link_items` into an attached
dataset) and dropped when the data leaves the project. Moves are linear: submit (Annotate) and
approve (Review) go to the following stage, reject (Review) goes back to the closest Annotate
stage before it, and a Complete (DONE) stage ends the flow; `move-tasks` reaches any stage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from dagster_encord.emulator.records import (
    AnnotationTaskStatus,
    LabelRow,
    Project,
    Task,
    TaskEvent,
    WorkflowTemplate,
    new_uuid,
)
from dagster_encord.emulator.state import EmulatorState
from dagster_encord.emulator.wire import ApiError

DEFAULT_WORKFLOW_TEMPLATE_UUID = "00000000-0000-4000-a000-000000000001"
DEFAULT_STAGES: tuple[dict[str, str], ...] = tuple(
    {"uuid": f"00000000-0000-4000-a000-0000000000{n}", "title": title, "stageType": stage_type}
    for n, title, stage_type in (
        (11, "Annotate 1", "ANNOTATION"),
        (12, "Review 1", "REVIEW"),
        (13, "Complete", "DONE"),
    )
)
# The stage types whose tasks the emulator serves (consensus, router and agent stages it does not).
STAGE_TYPES = ("ANNOTATION", "REVIEW", "DONE")
# The most task uuids one `move-tasks` call takes (the SDK's bundles are split at this size).
MOVE_LIMIT = 500
# legacy AnnotationTaskStatus of a label row, by the stage type its task is in
_LEGACY_STATUS = {
    "ANNOTATION": AnnotationTaskStatus.QUEUED,
    "REVIEW": AnnotationTaskStatus.IN_REVIEW,
    "DONE": AnnotationTaskStatus.COMPLETED,
}


def default_template() -> WorkflowTemplate:
    return WorkflowTemplate(
        DEFAULT_WORKFLOW_TEMPLATE_UUID,
        "Standard workflow",
        [dict(stage) for stage in DEFAULT_STAGES],
        "2024-01-01T00:00:00.000000Z",
    )


def build_template(
    title: str, stages: Sequence[tuple[str, str] | Mapping[str, str]], created_at: str
) -> WorkflowTemplate:
    """A template from `(title, stage type)` pairs or `{"title", "stageType", "uuid"?}` dicts.

    Raises ValueError naming the problem: the control API answers it as a 400."""
    if not title:
        raise ValueError("a workflow template needs a non-empty title")
    built: list[dict[str, str]] = []
    for stage in stages:
        if isinstance(stage, Mapping):
            stage_title, stage_type = str(stage["title"]), str(stage["stageType"])
            stage_uuid = str(stage.get("uuid") or new_uuid())
        else:
            (stage_title, stage_type), stage_uuid = stage, new_uuid()
        if stage_type not in STAGE_TYPES:
            raise ValueError(
                f"stage {stage_title!r}: type {stage_type!r} is not one the emulator serves "
                f"(use {', '.join(STAGE_TYPES)})"
            )
        built.append({"uuid": stage_uuid, "title": stage_title, "stageType": stage_type})
    titles = [s["title"] for s in built]
    if len(set(titles)) != len(titles):
        raise ValueError(f"stage titles must be unique, got {titles}")
    if not built or built[0]["stageType"] != "ANNOTATION":
        raise ValueError("the first stage of a workflow template must be an ANNOTATION stage")
    if not any(s["stageType"] == "DONE" for s in built):
        raise ValueError("a workflow template needs a DONE (Complete) stage")
    return WorkflowTemplate(new_uuid(), title, built, created_at)


def template_or_403(state: EmulatorState, template_uuid: str) -> WorkflowTemplate:
    """Encord answers a template the caller cannot use (missing, or not admin on it) with 403."""
    if template_uuid == DEFAULT_WORKFLOW_TEMPLATE_UUID:
        return default_template()
    template = state.workflow_templates.get(template_uuid)
    if template is None:
        raise ApiError(
            403, f"workflow template {template_uuid} does not exist or you have no access to it"
        )
    return template


# --- stages --------------------------------------------------------------------------------


def stage_or_404(project: Project, stage_uuid: str) -> dict[str, str]:
    if not project.stages:
        raise ApiError(400, f"project {project.uuid} is not a workflow project")
    for stage in project.stages:
        if stage["uuid"] == stage_uuid:
            return stage
    raise ApiError(404, f"stage {stage_uuid} is not in the workflow of project {project.uuid}")


def following_stage(project: Project, stage_uuid: str) -> dict[str, str]:
    index = [s["uuid"] for s in project.stages].index(stage_uuid)
    if index + 1 >= len(project.stages):
        raise ApiError(400, f"stage {project.stages[index]['title']!r} is the last stage")
    return project.stages[index + 1]


def reject_stage(project: Project, stage_uuid: str) -> dict[str, str]:
    index = [s["uuid"] for s in project.stages].index(stage_uuid)
    for stage in reversed(project.stages[:index]):
        if stage["stageType"] == "ANNOTATION":
            return stage
    raise ApiError(400, f"no Annotate stage before {project.stages[index]['title']!r}")


def stage_by_uuid(project: Project, stage_uuid: str) -> dict[str, str] | None:
    return next((s for s in project.stages if s["uuid"] == stage_uuid), None)


# --- tasks ---------------------------------------------------------------------------------


def project_data_hashes(state: EmulatorState, project: Project) -> list[str]:
    """The project's data units in dataset order, then link order."""
    hashes: list[str] = []
    for dataset_hash in project.dataset_hashes:
        dataset = state.datasets.get(dataset_hash)
        hashes.extend(dataset.data_hashes if dataset else ())
    return hashes


def open_reviews(label: LabelRow | None) -> list[dict[str, str]]:
    """One NEW review per saved object and classification instance of the label row."""
    if label is None:
        return []
    kinds = (("Object", "object_answers"), ("Classification", "classification_answers"))
    return [
        {"reviewUuid": new_uuid(), "status": "NEW", "labelType": kind, "labelId": label_id}
        for kind, key in kinds
        for label_id in label.labels.get(key, {})
    ]


def enter_stage(state: EmulatorState, task: Task, stage: dict[str, str], status: str) -> None:
    """Put `task` in `stage` unassigned; a Review stage opens reviews of its main-branch labels."""
    task.stage_uuid = stage["uuid"]
    task.status = status
    task.assignee = None
    in_review = stage["stageType"] == "REVIEW"
    label = state.label_row_of(task.project_hash, task.data_hash) if in_review else None
    task.reviews = open_reviews(label)
    task.updated_at = state.clock.now_iso()


def add_tasks(state: EmulatorState, project: Project, data_hashes: Iterable[str]) -> list[Task]:
    """Tasks in the first stage for the data units that have none yet (saved)."""
    if not project.stages:
        return []
    existing = state.project_tasks.get(project.uuid, {})
    first = project.stages[0]["uuid"]
    stamp = state.clock.now_iso()
    created = [
        Task(new_uuid(), project.uuid, h, first, "NEW", stamp, stamp)
        for h in dict.fromkeys(data_hashes)
        if h not in existing
    ]
    state.save_many(created)
    return created


def sync_project_tasks(state: EmulatorState, project: Project) -> None:
    """After the project's datasets changed: tasks for new data, none for data that left."""
    with state.lock:
        in_project = project_data_hashes(state, project)
        add_tasks(state, project, in_project)
        keep = set(in_project)
        stale = [
            uuid
            for data_hash, uuid in state.project_tasks.get(project.uuid, {}).items()
            if data_hash not in keep
        ]
        state.drop("task", stale)


def on_rows_linked(state: EmulatorState, dataset_hash: str, data_hashes: Sequence[str]) -> None:
    """Data linked into a dataset gets a task in every workflow project the dataset is in."""
    with state.lock:
        for project in state.projects.values():
            if project.stages and dataset_hash in project.dataset_hashes:
                add_tasks(state, project, data_hashes)


def drop_data_tasks(state: EmulatorState, data_hashes: Iterable[str]) -> None:
    gone = list(data_hashes)
    with state.lock:
        every_project = state.project_tasks.values()
        state.drop("task", [tasks[h] for tasks in every_project for h in gone if h in tasks])


def task_of(state: EmulatorState, project: Project, data_hash: str) -> Task | None:
    task_uuid = state.project_tasks.get(project.uuid, {}).get(data_hash)
    return state.tasks.get(task_uuid) if task_uuid else None


def graph_node(stage: Mapping[str, str] | None) -> dict[str, str] | None:
    """The label row metadata's `workflow_graph_node`: the task's stage."""
    return {"uuid": stage["uuid"], "title": stage["title"]} if stage else None


def legacy_task_status(stage: Mapping[str, str] | None, task: Task) -> AnnotationTaskStatus:
    """The label row's AnnotationTaskStatus for a workflow task in `stage`."""
    stage_type = stage["stageType"] if stage else "ANNOTATION"
    if stage_type == "ANNOTATION" and task.status == "REOPENED":
        return AnnotationTaskStatus.RETURNED
    if stage_type == "ANNOTATION" and task.assignee is not None:
        return AnnotationTaskStatus.ASSIGNED
    return _LEGACY_STATUS.get(stage_type, AnnotationTaskStatus.QUEUED)


def event(
    state: EmulatorState, project: Project, task: Task, action_type: str, actor: str
) -> TaskEvent:
    """An analytics event for an action on `task` in the stage it is in now."""
    return TaskEvent(
        new_uuid(),
        project.uuid,
        state.clock.now_iso(),
        action_type,
        task.stage_uuid,
        task.uuid,
        task.data_hash,
        actor,
    )


def task_json(state: EmulatorState, task: Task) -> dict[str, Any]:
    """Every stage's task model in one: the SDK ignores the fields its stage does not have."""
    row = state.data_rows.get(task.data_hash)
    item = state.items.get(row.item_uuid) if row else None
    return {
        "uuid": task.uuid,
        "createdAt": task.created_at,
        "updatedAt": task.updated_at,
        "status": task.status,
        "dataHash": task.data_hash,
        "dataTitle": item.name if item else "",
        "labelBranchName": "main",
        "assignee": task.assignee,
    }
