"""Legacy RPC handlers (`POST /public`, `POST /public/user`) for datasets, data rows and projects.
Keys are (scope, query_type, query_method); each handler gets the envelope's `values` dict."""

from __future__ import annotations

from typing import Any

from dagster_encord.emulator.context import Ctx
from dagster_encord.emulator.legacy import (
    LegacyHandler,
    dataset_or_403,
    like,
    parse_time,
    payload_of,
    project_or_403,
)
from dagster_encord.emulator.manifest import check_metadata_size
from dagster_encord.emulator.metadata import check_item_metadata
from dagster_encord.emulator.records import DataRow, Ontology, Project, new_uuid
from dagster_encord.emulator.wire import ApiError, data_row_json, dataset_type, found_or_403
from dagster_encord.emulator.workflow import (
    drop_data_tasks,
    on_rows_linked,
    sync_project_tasks,
    template_or_403,
)

# --- datasets ------------------------------------------------------------------------------


def get_dataset(ctx: Ctx, values: dict[str, Any]) -> dict[str, Any]:
    settings = payload_of(values).get("dataset_access_settings") or {}
    with ctx.state.lock:
        dataset = dataset_or_403(ctx)
        rows = []
        if settings.get("fetch_rows", True):
            metadata = bool(settings.get("fetch_client_metadata"))
            rows = [
                data_row_json(ctx.state, ctx.state.data_rows[h], metadata)
                for h in dataset.data_hashes
            ]
        return {
            "dataset_hash": dataset.uuid,
            "title": dataset.title,
            "description": dataset.description,
            "dataset_type": dataset_type(ctx.state, dataset),
            "backing_folder_uuid": dataset.backing_folder_uuid,
            "data_rows": rows,
        }


def list_data_rows(ctx: Ctx, values: dict[str, Any]) -> list[dict[str, Any]]:
    payload = payload_of(values)
    settings = payload.get("dataset_access_settings") or {}
    created_before = parse_time(payload.get("created_before"))
    created_after = parse_time(payload.get("created_after"))
    title_like = like(payload["title_like"]) if payload.get("title_like") else None
    data_types = set(payload.get("data_types") or [])
    data_hashes = set(payload.get("data_hashes") or [])
    with ctx.state.lock:
        dataset = dataset_or_403(ctx)
        result = []
        for data_hash in dataset.data_hashes:
            row = ctx.state.data_rows[data_hash]
            body = data_row_json(ctx.state, row, bool(settings.get("fetch_client_metadata")))
            created = parse_time(row.created_at)
            assert created is not None
            if (
                (payload.get("title_eq") is not None and body["data_title"] != payload["title_eq"])
                or (title_like is not None and not title_like(body["data_title"]))
                or (created_before is not None and created >= created_before)
                or (created_after is not None and created <= created_after)
                or (data_types and body["data_type"] not in data_types)
                or (data_hashes and data_hash not in data_hashes)
            ):
                continue
            result.append(body)
        return result


def link_items(ctx: Ctx, values: dict[str, Any]) -> list[dict[str, Any]]:
    payload = payload_of(values)
    item_uuids = payload.get("item_uuids")
    behaviour = payload.get("duplicates_behavior", "SKIP")
    if not isinstance(item_uuids, list):
        raise ApiError(400, "payload.item_uuids must be a list of storage item uuids")
    if behaviour not in ("SKIP", "FAIL", "DUPLICATE"):
        raise ApiError(400, f"duplicates_behavior {behaviour!r} must be SKIP, FAIL or DUPLICATE")
    with ctx.state.lock:
        dataset = dataset_or_403(ctx, admin=True)
        linked = {ctx.state.data_rows[h].item_uuid for h in dataset.data_hashes}
        new_rows: list[DataRow] = []
        items = []
        for item_uuid in map(str, item_uuids):
            item = found_or_403(ctx.state.items, item_uuid, "storage item")
            if item_uuid in linked and behaviour == "FAIL":
                raise ApiError(
                    409, f"storage item {item_uuid} is already in dataset {dataset.uuid}"
                )
            if item_uuid in linked and behaviour == "SKIP":
                continue
            stamp = ctx.state.clock.now_iso()
            new_rows.append(DataRow(new_uuid(), dataset.uuid, item_uuid, stamp, stamp))
            item.backed_data_units += 1
            items.append(item)
            linked.add(item_uuid)
        dataset.data_hashes.extend(r.data_hash for r in new_rows)
        dataset.last_edited_at = ctx.state.clock.now_iso()
        ctx.state.save_many(new_rows)
        ctx.state.save_many(items)
        ctx.state.save(dataset)
        on_rows_linked(ctx.state, dataset.uuid, [r.data_hash for r in new_rows])
        return [data_row_json(ctx.state, r) for r in new_rows]


def _row_in_dataset(ctx: Ctx, values: dict[str, Any], *, admin: bool = False) -> DataRow:
    dataset = dataset_or_403(ctx, admin=admin)
    row = ctx.state.data_rows.get(str(values.get("uid")))
    if row is None or row.dataset_hash != dataset.uuid:
        raise ApiError(404, f"data row {values.get('uid')} not found in dataset {dataset.uuid}")
    return row


def get_data_row(ctx: Ctx, values: dict[str, Any]) -> dict[str, Any]:
    extra = payload_of(values).get("additional_data") or {}
    signer = ctx.url_signer() if extra.get("signed_url") else None
    with ctx.state.lock:
        row = _row_in_dataset(ctx, values)
        return data_row_json(ctx.state, row, bool(extra.get("client_metadata")), signer)


def save_data_row(ctx: Ctx, values: dict[str, Any]) -> dict[str, Any]:
    payload = payload_of(values)
    unknown = set(payload) - {"client_metadata", "data_title"}
    if unknown:
        raise ApiError(400, f"data row fields {sorted(unknown)} cannot be updated")
    with ctx.state.lock:
        row = _row_in_dataset(ctx, values, admin=True)
        item = ctx.state.items[row.item_uuid]
        if "client_metadata" in payload:
            metadata = payload["client_metadata"]
            if not isinstance(metadata, dict):
                raise ApiError(400, "client_metadata must be an object")
            check_metadata_size(metadata, f"data row {row.data_hash}")
            problem = check_item_metadata(ctx.state, metadata)
            if problem is not None:
                raise ApiError(
                    400, f"data row {row.data_hash} ({item.url}) clientMetadata: {problem}"
                )
            item.client_metadata = metadata
        if "data_title" in payload:
            item.name = str(payload["data_title"])
        row.last_edited_at = item.last_edited_at = ctx.state.clock.now_iso()
        ctx.state.save(item)
        ctx.state.save(row)
        return {"data_row": data_row_json(ctx.state, row, True), "updated_fields": list(payload)}


def delete_data(ctx: Ctx, values: dict[str, Any]) -> bool:
    """`dataset.delete_data(hashes)`: the rows go, with their label rows and workflow tasks."""
    uid = values.get("uid") or []
    hashes = [uid] if isinstance(uid, str) else [str(h) for h in uid]
    with ctx.state.lock:
        dataset = dataset_or_403(ctx, admin=True)
        in_dataset = set(dataset.data_hashes)
        for data_hash in hashes:
            if data_hash not in in_dataset:
                raise ApiError(404, f"data unit {data_hash} not found in dataset {dataset.uuid}")
        gone = set(hashes)
        items = []
        for data_hash in gone:
            item = ctx.state.items.get(ctx.state.data_rows[data_hash].item_uuid)
            if item is not None:
                item.backed_data_units = max(0, item.backed_data_units - 1)
                items.append(item)
        dataset.data_hashes = [h for h in dataset.data_hashes if h not in gone]
        dataset.last_edited_at = ctx.state.clock.now_iso()
        ctx.state.drop("label_row", ctx.state.label_hashes_of_data(gone))
        drop_data_tasks(ctx.state, gone)
        ctx.state.drop("data_row", gone)
        ctx.state.save_many(items)
        ctx.state.save(dataset)
    return True


_DATASET_ROLES = {0: "admin", 1: "user"}  # the SDK's DatasetUserRole (legacy ints)


def add_dataset_users(ctx: Ctx, values: dict[str, Any]) -> list[dict[str, Any]]:
    """`dataset.add_users(emails, role)`: admins give other users a role on the dataset."""
    payload = payload_of(values)
    emails = payload.get("user_emails")
    requested = payload.get("user_role")
    role = _DATASET_ROLES.get(requested) if isinstance(requested, int) else None
    if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
        raise ApiError(400, "payload.user_emails must be a list of emails")
    if role is None:
        raise ApiError(400, "payload.user_role must be 0 (admin) or 1 (user)")
    with ctx.state.lock:
        dataset = dataset_or_403(ctx, admin=True)
        if not dataset.user_roles:
            dataset.user_roles = {ctx.user: "admin"}
        for email in emails:
            dataset.user_roles[email] = role
        ctx.state.save(dataset)
    code = {name: number for number, name in _DATASET_ROLES.items()}[role]
    return [
        {"user_email": email, "user_role": code, "dataset_hash": dataset.uuid} for email in emails
    ]


# --- projects ------------------------------------------------------------------------------


def create_project(ctx: Ctx, values: dict[str, Any]) -> str:
    payload = payload_of(values)
    title = payload.get("title")
    if not isinstance(title, str) or not title:
        raise ApiError(400, "project title must be a non-empty string")
    dataset_hashes = list(payload.get("dataset_hashes") or [])
    stamp = ctx.state.clock.now_iso()
    with ctx.state.lock:
        for dataset_hash in dataset_hashes:
            found_or_403(ctx.state.datasets, dataset_hash, "dataset")
        template_uuid = payload.get("workflow_template_id")
        template = template_or_403(ctx.state, str(template_uuid)) if template_uuid else None
        ontology_hash = payload.get("ontology_hash")
        if ontology_hash:
            found_or_403(ctx.state.ontologies, ontology_hash, "ontology")
        else:
            ontology = Ontology(
                new_uuid(), title, "", {"objects": [], "classifications": []}, stamp, stamp
            )
            ctx.state.save(ontology)
            ontology_hash = ontology.uuid
        project = Project(
            new_uuid(),
            title,
            str(payload.get("description") or ""),
            ontology_hash,
            dataset_hashes,
            stamp,
            stamp,
            str(payload.get("workflow_type") or "manual"),
            stages=[dict(stage) for stage in template.stages] if template else [],
            workflow_template=template.uuid if template else None,
            user_roles={ctx.user: 0},
        )
        ctx.state.save(project)
        sync_project_tasks(ctx.state, project)
        return project.uuid


def add_project_datasets(ctx: Ctx, values: dict[str, Any]) -> bool:
    hashes = payload_of(values).get("dataset_hashes") or []
    with ctx.state.lock:
        project = project_or_403(ctx, admin=True)
        for dataset_hash in hashes:
            found_or_403(ctx.state.datasets, dataset_hash, "dataset")
            if dataset_hash not in project.dataset_hashes:
                project.dataset_hashes.append(dataset_hash)
        project.last_edited_at = ctx.state.clock.now_iso()
        ctx.state.save(project)
        sync_project_tasks(ctx.state, project)
    return True


def remove_project_datasets(ctx: Ctx, values: dict[str, Any]) -> bool:
    uid = values.get("uid") or []
    hashes = set([uid] if isinstance(uid, str) else uid)
    with ctx.state.lock:
        project = project_or_403(ctx, admin=True)
        project.dataset_hashes = [h for h in project.dataset_hashes if h not in hashes]
        project.last_edited_at = ctx.state.clock.now_iso()
        ctx.state.save(project)
        sync_project_tasks(ctx.state, project)
    return True


def add_project_users(ctx: Ctx, values: dict[str, Any]) -> list[dict[str, Any]]:
    """`project.add_users(emails, role)`: admins give users a role; a user who already has one
    keeps it (and it is what is returned), as on Encord."""
    payload = payload_of(values)
    emails = payload.get("user_emails")
    role = payload.get("user_role")
    if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
        raise ApiError(400, "payload.user_emails must be a list of emails")
    if not isinstance(role, int) or not 0 <= role <= 5:
        raise ApiError(400, "payload.user_role must be a ProjectUserRole from 0 (admin) to 5")
    with ctx.state.lock:
        project = project_or_403(ctx, admin=True)
        if not project.user_roles:
            project.user_roles = {ctx.user: 0}
        for email in emails:
            project.user_roles.setdefault(email, role)
        ctx.state.save(project)
        return [
            {"user_email": e, "user_role": project.user_roles[e], "project_hash": project.uuid}
            for e in emails
        ]


HANDLERS: dict[tuple[str, str, str], LegacyHandler] = {
    ("resource", "dataset", "GET"): get_dataset,
    ("resource", "datarows", "GET"): list_data_rows,
    ("resource", "datasetlinkitems", "POST"): link_items,
    ("resource", "datarow", "GET"): get_data_row,
    ("resource", "datarow", "POST"): save_data_row,
    ("resource", "video", "DELETE"): delete_data,
    ("resource", "datasetusers", "POST"): add_dataset_users,
    ("user", "project", "POST"): create_project,
    ("resource", "projectdataset", "POST"): add_project_datasets,
    ("resource", "projectdataset", "DELETE"): remove_project_datasets,
    ("resource", "projectusers", "POST"): add_project_users,
}
