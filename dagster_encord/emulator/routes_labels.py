"""Legacy RPC handlers for label rows: list (with the SDK's filters), create, get, save, and the
workflow moves of `workflow_complete` / `workflow_reopen`. Bodies are built in `label_rows`.

Listing (`labelrowmetadata` GET) is one unpaginated answer, one entry per data unit of the
project's datasets (dataset order, then link order) on the requested branch: `branch_name`
(default "main"), where a data unit without a label row there appears uninitialised on that
branch. `include_all_label_branches` gives one entry per branch that has a label row (main first,
then by name) and a main entry for data units without any; it cannot be combined with
`branch_name`. `edited_after` and `edited_before` are both exclusive and compare the stored stamp
at its full (microsecond) precision with the label row's `last_edited_at` (the data row's for an
uninitialised entry), while the wire shows seconds: a row saved at 10:00:00.250 lists with
`last_edited_at` 10:00:00 yet matches `edited_after=10:00:00`. Stamps come from the state's clock
(`clock.py`), which a test can freeze. In a workflow project every branch's entry carries the data
unit's task (one task per data unit).

Bundled calls carry up to 1,000 uids. A create (PUT) makes the label row on the payload's
`branch_name`; get and save address rows by label hash, so branches never mix. Saved labels are
stored as sent (`to_encord_dict()` pieces) and returned on the next GET, filtered by feature hash
when the request asks for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dagster_encord.emulator.context import Ctx
from dagster_encord.emulator.label_rows import (
    filter_features,
    label_row_json,
    row_metadata,
    saved_status,
    store_labels,
    task_status,
)
from dagster_encord.emulator.legacy import (
    LegacyHandler,
    like,
    parse_time,
    payload_of,
    project_or_403,
)
from dagster_encord.emulator.records import DataRow, Item, LabelRow, Project, Task, new_uuid
from dagster_encord.emulator.state import EmulatorState
from dagster_encord.emulator.wire import ApiError, Signer
from dagster_encord.emulator.workflow import enter_stage, event, project_data_hashes, task_of

BUNDLE_LIMIT = 1000
Stage = Mapping[str, str]


@dataclass(frozen=True)
class _Listing:
    """A `labelrowmetadata` GET's filters, parsed once per request."""

    edited_before: datetime | None
    edited_after: datetime | None
    statuses: frozenset[str]
    data_hashes: frozenset[str]
    label_hashes: frozenset[str]
    title_eq: str | None
    title_like: Callable[[str], bool] | None
    node_eq: str | None
    node_like: Callable[[str], bool] | None
    with_node: bool
    client_metadata: bool
    all_branches: bool
    branch: str
    include_uninitialised: bool

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> _Listing:
        all_branches = bool(payload.get("include_all_label_branches"))
        if all_branches and payload.get("branch_name"):
            raise ApiError(400, "branch_name cannot be combined with include_all_label_branches")
        title_like = payload.get("data_title_like")
        node_like = payload.get("workflow_graph_node_title_like")
        return cls(
            edited_before=parse_time(payload.get("edited_before")),
            edited_after=parse_time(payload.get("edited_after")),
            statuses=frozenset(payload.get("label_statuses") or ()),
            data_hashes=frozenset(payload.get("data_hashes") or ()),
            label_hashes=frozenset(payload.get("label_hashes") or ()),
            title_eq=payload.get("data_title_eq"),
            title_like=like(title_like) if title_like else None,
            node_eq=payload.get("workflow_graph_node_title_eq"),
            node_like=like(node_like) if node_like else None,
            with_node=payload.get("include_workflow_graph_node", True) is not False,
            client_metadata=bool(payload.get("include_client_metadata")),
            all_branches=all_branches,
            branch=payload.get("branch_name") or "main",
            include_uninitialised=payload.get("include_uninitialised_labels", True) is not False,
        )

    def keeps_unit(self, data_hash: str, item: Item, node_title: str | None) -> bool:
        """The filters on the data unit, whatever its label rows."""
        return (
            (not self.data_hashes or data_hash in self.data_hashes)
            and (self.title_eq is None or item.name == self.title_eq)
            and (self.title_like is None or self.title_like(item.name))
            and (self.node_eq is None or node_title == self.node_eq)
            and (self.node_like is None or self.node_like(node_title or ""))
        )

    def branch_rows(
        self, state: EmulatorState, project: Project, data_hash: str
    ) -> list[tuple[LabelRow | None, str]]:
        """The (label row or None, branch) entries a data unit lists as."""
        if self.all_branches:
            labels = state.label_rows_of(project.uuid, data_hash)
            return [(label, label.branch_name) for label in labels] or [(None, "main")]
        return [(state.label_row_of(project.uuid, data_hash, self.branch), self.branch)]

    def keeps_entry(
        self, row: DataRow, label: LabelRow | None, task: Task | None, stage: Stage | None
    ) -> bool:
        """The filters on one (data unit, branch) entry."""
        if label is None and not self.include_uninitialised:
            return False
        if self.label_hashes and (label is None or label.label_hash not in self.label_hashes):
            return False
        if self.statuses and task_status(label, task, stage) not in self.statuses:
            return False
        if self.edited_before is None and self.edited_after is None:
            return True
        edited = parse_time(label.last_edited_at if label else row.last_edited_at)
        assert edited is not None
        return (self.edited_before is None or edited < self.edited_before) and (
            self.edited_after is None or edited > self.edited_after
        )


def list_label_rows(ctx: Ctx, values: dict[str, Any]) -> list[dict[str, Any]]:
    query = _Listing.parse(payload_of(values))
    state = ctx.state
    with state.lock:
        project = project_or_403(ctx)
        stages = {stage["uuid"]: stage for stage in project.stages}
        tasks = state.project_tasks.get(project.uuid, {})
        result = []
        for data_hash in project_data_hashes(state, project):
            row = state.data_rows[data_hash]
            item = state.items[row.item_uuid]
            task_uuid = tasks.get(data_hash)
            task = state.tasks[task_uuid] if task_uuid is not None else None
            stage = stages.get(task.stage_uuid) if task else None
            if not query.keeps_unit(data_hash, item, stage["title"] if stage else None):
                continue
            dataset = state.datasets[row.dataset_hash]
            for label, branch in query.branch_rows(state, project, data_hash):
                if not query.keeps_entry(row, label, task, stage):
                    continue
                body = row_metadata(row, item, dataset, label, branch, task, stage, query.with_node)
                if query.client_metadata:
                    body["client_metadata"] = item.client_metadata
                result.append(body)
        return result


def _uids(values: dict[str, Any]) -> list[str]:
    uid = values.get("uid")
    uids = [uid] if isinstance(uid, str) else list(uid or [])
    if len(uids) > BUNDLE_LIMIT:
        raise ApiError(400, f"{len(uids)} label rows in one request; the limit is {BUNDLE_LIMIT}")
    return [str(u) for u in uids]


def _signer(ctx: Ctx, values: dict[str, Any]) -> Signer | None:
    """Signs data links when the request asks for `get_signed_url`."""
    return ctx.url_signer() if payload_of(values).get("get_signed_url") else None


def _label_or_404(ctx: Ctx, project: Project, label_hash: str) -> LabelRow:
    label = ctx.state.label_rows.get(label_hash)
    if label is None or label.project_hash != project.uuid:
        raise ApiError(404, f"label row {label_hash} not found in project {project.uuid}")
    return label


def create_label_rows(ctx: Ctx, values: dict[str, Any]) -> list[dict[str, Any]]:
    """`initialise_labels` of rows without a label hash: label rows on the payload's branch (an
    existing one is returned as is)."""
    branch = payload_of(values).get("branch_name") or "main"
    signer = _signer(ctx, values)
    state = ctx.state
    with state.lock:
        project = project_or_403(ctx)
        in_project = set(project.dataset_hashes)
        uids = _uids(values)
        for data_hash in uids:  # all checked before anything is created
            row = state.data_rows.get(data_hash)
            if row is None or row.dataset_hash not in in_project:
                raise ApiError(404, f"data unit {data_hash} is not in project {project.uuid}")
        stamp = state.clock.now_iso()
        created: dict[str, LabelRow] = {}
        labels = []
        for data_hash in uids:
            label = state.label_row_of(project.uuid, data_hash, branch) or created.get(data_hash)
            if label is None:
                label = LabelRow(new_uuid(), project.uuid, data_hash, branch, stamp, stamp)
                created[data_hash] = label
            labels.append(label)
        state.save_many(created.values())
        return [label_row_json(state, label, signer) for label in labels]


def get_label_rows(ctx: Ctx, values: dict[str, Any]) -> list[dict[str, Any]] | dict[str, Any]:
    payload = payload_of(values)
    single = isinstance(values.get("uid"), str) and not payload.get("multi_request")
    signer = _signer(ctx, values)
    with ctx.state.lock:
        project = project_or_403(ctx)
        result = [
            filter_features(
                label_row_json(ctx.state, _label_or_404(ctx, project, h), signer), payload
            )
            for h in _uids(values)
        ]
        return result[0] if single else result


def save_label_rows(ctx: Ctx, values: dict[str, Any]) -> bool:
    payload = payload_of(values)
    uids = _uids(values)
    # Bundled saves send {"labels": [...]}; the deprecated single save sends the label dict itself.
    saved = payload.get("labels", [payload] if "data_units" in payload else None)
    if isinstance(saved, dict):
        saved = [saved]
    if not isinstance(saved, list) or len(saved) != len(uids):
        raise ApiError(400, "payload.labels must be a list with one label dict per uid")
    with ctx.state.lock:
        project = project_or_403(ctx)
        changes = []
        for label_hash, label_dict in zip(uids, saved, strict=True):
            label = _label_or_404(ctx, project, label_hash)
            if not isinstance(label_dict, dict):
                raise ApiError(400, f"label row {label_hash}: the label dict must be an object")
            saved_status(label_hash, label_dict)  # the whole batch is checked before any change
            changes.append((label, label_dict))
        stamp = ctx.state.clock.now_iso()
        for label, label_dict in changes:
            store_labels(label, label_dict, stamp)
        ctx.state.save_many(label for label, _ in changes)
    return True


def move_label_tasks(ctx: Ctx, values: dict[str, Any]) -> bool:
    """`label_row.workflow_complete()` / `workflow_reopen()`: the row's task goes to the first
    Complete stage, or back to the first stage."""
    action = payload_of(values).get("action")
    if action not in ("complete", "reopen"):
        raise ApiError(400, f"workflow action {action!r} must be 'complete' or 'reopen'")
    state = ctx.state
    with state.lock:
        project = project_or_403(ctx)
        if not project.stages:
            raise ApiError(
                400, f"project {project.uuid} is not a workflow project", "WRONG_PROJECT_TYPE_ERROR"
            )
        stage = (
            next(s for s in project.stages if s["stageType"] == "DONE")
            if action == "complete"
            else project.stages[0]
        )
        tasks = []
        for label_hash in _uids(values):
            task = task_of(state, project, _label_or_404(ctx, project, label_hash).data_hash)
            if task is None:
                raise ApiError(404, f"label row {label_hash} has no task in project {project.uuid}")
            tasks.append(task)
        events = []
        for task in tasks:
            events.append(event(state, project, task, "move", ctx.user))
            enter_stage(state, task, stage, "NEW" if action == "complete" else "REOPENED")
        state.save_many(tasks)
        state.save_many(events)
    return True


HANDLERS: dict[tuple[str, str, str], LegacyHandler] = {
    ("resource", "labelrowmetadata", "GET"): list_label_rows,
    ("resource", "labelrow", "PUT"): create_label_rows,
    ("resource", "labelrow", "GET"): get_label_rows,
    ("resource", "labelrow", "POST"): save_label_rows,
    ("resource", "labelworkflowgraphnode", "POST"): move_label_tasks,
}
