"""v2 workflow routes: a stage's tasks, task actions, moves, label reviews and task analytics.

Paths are those of the SDK's `encord/workflow/` (`/projects/{p}/workflow/stages/{s}/...`) and
`analytics/task-actions`. A batch of actions or a move is checked whole before any task changes.
"""

from __future__ import annotations

from typing import Any

from dagster_encord.emulator.context import Ctx
from dagster_encord.emulator.legacy import parse_time
from dagster_encord.emulator.records import Project, Task, TaskEvent
from dagster_encord.emulator.routes_projects import project_or_403
from dagster_encord.emulator.wire import ApiError
from dagster_encord.emulator.workflow import (
    MOVE_LIMIT,
    enter_stage,
    event,
    following_stage,
    project_data_hashes,
    reject_stage,
    stage_or_404,
    task_json,
)

STAGE = "/v2/public/projects/{project_hash}/workflow/stages/{stage_uuid}"
# the task actions each stage type takes (a Complete stage takes none: its tasks only move)
STAGE_ACTIONS = {
    "ANNOTATION": {"SUBMIT", "ASSIGN", "RELEASE"},
    "REVIEW": {"APPROVE", "REJECT", "ASSIGN", "RELEASE"},
    "DONE": set(),
}
REVIEW_ACTIONS = {"APPROVE": "APPROVED", "REJECT": "REJECTED", "REOPEN": "REOPENED"}


def _project_stage(ctx: Ctx) -> tuple[Project, dict[str, str]]:
    project = project_or_403(ctx, ctx.path_params["project_hash"])
    return project, stage_or_404(project, ctx.path_params["stage_uuid"])


def _task_in_stage(ctx: Ctx, project: Project, stage: dict[str, str], task_uuid: str) -> Task:
    task = ctx.state.tasks.get(task_uuid)
    if task is None or task.project_hash != project.uuid or task.stage_uuid != stage["uuid"]:
        raise ApiError(400, f"task {task_uuid} is not in stage {stage['title']!r}")
    return task


def list_tasks(ctx: Ctx) -> dict[str, Any]:
    emails = set(ctx.q_list("userEmails"))
    data_hashes = set(ctx.q_list("dataHashes"))
    dataset_hashes = set(ctx.q_list("datasetHashes"))
    statuses = set(ctx.q_list("statuses"))
    title_part = (ctx.query.get("dataTitleContains") or "").lower()
    state = ctx.state
    with state.lock:
        project, stage = _project_stage(ctx)
        by_data = state.project_tasks.get(project.uuid, {})
        tasks = []
        for data_hash in project_data_hashes(state, project):
            task = state.tasks.get(by_data.get(data_hash, ""))
            if task is None or task.stage_uuid != stage["uuid"]:
                continue
            row = state.data_rows[data_hash]
            title = state.items[row.item_uuid].name if row.item_uuid in state.items else ""
            if (
                (emails and task.assignee not in emails)
                or (data_hashes and data_hash not in data_hashes)
                or (dataset_hashes and row.dataset_hash not in dataset_hashes)
                or (statuses and task.status not in statuses)
                or title_part not in title.lower()
            ):
                continue
            tasks.append(task)
        return ctx.page(tasks, lambda t: task_json(state, t))


def _actions(ctx: Ctx) -> list[dict[str, Any]]:
    actions = ctx.json()
    if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
        raise ApiError(400, "the body must be a list of task actions")
    return actions


def _check_batch(
    ctx: Ctx, project: Project, stage: dict[str, str], actions: list[dict[str, Any]]
) -> list[tuple[Task, dict[str, Any]]]:
    """Every action of the batch, checked in order against the tasks as the batch leaves them."""
    allowed = STAGE_ACTIONS[stage["stageType"]]
    planned: list[tuple[Task, dict[str, Any]]] = []
    assignees: dict[str, str | None] = {}  # task uuid -> assignee after the actions so far
    leaving: set[str] = set()  # tasks a submit/approve/reject of this batch moves on
    for action in actions:
        name = action.get("action")
        if name not in allowed:
            raise ApiError(
                400,
                f"action {name!r} is not allowed in stage {stage['title']!r} "
                f"(allowed: {', '.join(sorted(allowed)) or 'none'})",
            )
        task = _task_in_stage(ctx, project, stage, str(action.get("taskUuid")))
        if task.uuid in leaving:
            raise ApiError(400, f"task {task.uuid} leaves {stage['title']!r} earlier in this batch")
        assignee = assignees.get(task.uuid, task.assignee)
        if name == "ASSIGN" and not isinstance(action.get("assignee"), str):
            raise ApiError(400, f"ASSIGN of task {task.uuid} needs an assignee email")
        if action.get("retainAssignee") and not action.get("assignee") and assignee is None:
            raise ApiError(400, f"task {task.uuid} has no assignee to retain")
        if name in ("ASSIGN", "RELEASE"):
            assignees[task.uuid] = action.get("assignee") if name == "ASSIGN" else None
        else:  # the stage it goes to must exist before anything changes
            (reject_stage if name == "REJECT" else following_stage)(project, stage["uuid"])
            leaving.add(task.uuid)
        planned.append((task, action))
    return planned


def task_actions(ctx: Ctx) -> dict[str, Any]:
    actions = _actions(ctx)
    state = ctx.state
    with state.lock:
        project, stage = _project_stage(ctx)
        planned = _check_batch(ctx, project, stage, actions)
        events = [_apply(ctx, project, stage, task, action) for task, action in planned]
        state.save_many(task for task, _ in planned)
        state.save_many(events)
    return {}


def _apply(
    ctx: Ctx,
    project: Project,
    stage: dict[str, str],
    task: Task,
    action: dict[str, Any],
) -> TaskEvent:
    name = action["action"]
    if name in ("ASSIGN", "RELEASE"):
        task.assignee = action["assignee"] if name == "ASSIGN" else None
        task.status = "ASSIGNED" if name == "ASSIGN" else "RELEASED"
        return event(ctx.state, project, task, name.lower(), ctx.user)
    # Submit / approve / reject act as the given assignee, the kept one, or else the caller.
    actor = action.get("assignee") or (task.assignee if action.get("retainAssignee") else None)
    done = event(ctx.state, project, task, name.lower(), actor or ctx.user)
    # The task's label reviews stay with the stage it leaves (entering a stage resets them).
    if name == "REJECT":
        enter_stage(ctx.state, task, reject_stage(project, stage["uuid"]), "REOPENED")
    else:
        enter_stage(ctx.state, task, following_stage(project, stage["uuid"]), "NEW")
    return done


def move_tasks(ctx: Ctx) -> dict[str, Any]:
    body = ctx.json_object({"taskUuids", "destinationStageUuid"})
    task_uuids = body.get("taskUuids")
    if not isinstance(task_uuids, list):
        raise ApiError(400, "taskUuids must be a list of task uuids")
    if len(task_uuids) > MOVE_LIMIT:
        raise ApiError(
            400, f"{len(task_uuids)} tasks in one move; at most {MOVE_LIMIT} tasks can be moved"
        )
    state = ctx.state
    with state.lock:
        project, stage = _project_stage(ctx)
        destination = next(
            (s for s in project.stages if s["uuid"] == body.get("destinationStageUuid")), None
        )
        if destination is None:
            raise ApiError(
                400,
                f"destination stage {body.get('destinationStageUuid')} is not in the workflow "
                f"of project {project.uuid}",
            )
        tasks = [_task_in_stage(ctx, project, stage, str(u)) for u in task_uuids]
        events = []
        for task in tasks:
            events.append(event(state, project, task, "move", ctx.user))
            enter_stage(state, task, destination, "NEW")
        state.save_many(tasks)
        state.save_many(events)
    return {}


def _review_task(ctx: Ctx) -> Task:
    project, stage = _project_stage(ctx)
    task = ctx.state.tasks.get(ctx.path_params["task_uuid"])
    if task is None or task.project_hash != project.uuid or task.stage_uuid != stage["uuid"]:
        raise ApiError(404, f"task {ctx.path_params['task_uuid']} is not in {stage['title']!r}")
    return task


def list_reviews(ctx: Ctx) -> dict[str, Any]:
    with ctx.state.lock:
        return ctx.page([dict(r) for r in _review_task(ctx).reviews])


def review_actions(ctx: Ctx) -> dict[str, Any]:
    actions = _actions(ctx)
    with ctx.state.lock:
        task = _review_task(ctx)
        reviews = {r["reviewUuid"]: r for r in task.reviews}
        for action in actions:
            if action.get("action") not in REVIEW_ACTIONS:
                raise ApiError(400, f"review action {action.get('action')!r} is not known")
            if action.get("reviewUuid") not in reviews:
                raise ApiError(400, f"review {action.get('reviewUuid')} is not one of {task.uuid}")
        for action in actions:
            reviews[action["reviewUuid"]]["status"] = REVIEW_ACTIONS[action["action"]]
        ctx.state.save(task)
    return {}


def list_task_actions(ctx: Ctx) -> dict[str, Any]:
    after, before = parse_time(ctx.query.get("after")), parse_time(ctx.query.get("before"))
    if after is None or before is None:
        raise ApiError(400, "after and before are required datetimes")
    actors = set(ctx.q_list("actorEmails"))
    types = set(ctx.q_list("eventTypes"))
    stages = set(ctx.q_list("workflowStageUuids"))
    data_units = set(ctx.q_list("dataUnitUuids"))
    with ctx.state.lock:
        project = project_or_403(ctx, ctx.query.get("projectUuid") or "")
        events = []
        for e in ctx.state.task_events.values():
            stamp = parse_time(e.timestamp)
            assert stamp is not None
            if (
                e.project_hash == project.uuid
                and after <= stamp < before
                and (not actors or e.actor_email in actors)
                and (not types or e.action_type in types)
                and (not stages or e.stage_uuid in stages)
                and (not data_units or e.data_hash in data_units)
            ):
                events.append(e)
        events.sort(key=lambda e: e.timestamp)  # stable: same-instant events keep their order
        return ctx.page(events, _event_json)


def _event_json(e: TaskEvent) -> dict[str, Any]:
    return {
        "timestamp": e.timestamp,
        "actionType": e.action_type,
        "projectUuid": e.project_hash,
        "workflowStageUuid": e.stage_uuid,
        "taskUuid": e.task_uuid,
        "dataUnitUuid": e.data_hash,
        "actorEmail": e.actor_email,
    }


ROUTES = [
    ("GET", STAGE + "/tasks", list_tasks),
    ("POST", STAGE + "/actions", task_actions),
    ("POST", STAGE + "/move-tasks", move_tasks),
    ("GET", STAGE + "/tasks/{task_uuid}/reviews", list_reviews),
    ("POST", STAGE + "/tasks/{task_uuid}/reviews/actions", review_actions),
    ("GET", "/v2/public/analytics/task-actions", list_task_actions),
]
