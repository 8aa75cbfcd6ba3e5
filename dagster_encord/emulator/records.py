"""The emulator's records: plain dataclasses that round-trip through `vars()` for persistence.

Time stamps come from the state's clock (`state.clock.now_iso()`), never from here.
"""

from __future__ import annotations

import uuid as uuid_lib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class LabelStatus(StrEnum):
    """A label row's `label_status` (the SDK's LabelStatus)."""

    NOT_LABELLED = "NOT_LABELLED"
    LABEL_IN_PROGRESS = "LABEL_IN_PROGRESS"
    LABELLED = "LABELLED"
    REVIEW_IN_PROGRESS = "REVIEW_IN_PROGRESS"
    REVIEWED = "REVIEWED"
    REVIEWED_TWICE = "REVIEWED_TWICE"


class AnnotationTaskStatus(StrEnum):
    """A label row's `annotation_task_status`, what the `label_statuses` filter matches."""

    QUEUED = "QUEUED"
    ASSIGNED = "ASSIGNED"
    IN_REVIEW = "IN_REVIEW"
    RETURNED = "RETURNED"
    COMPLETED = "COMPLETED"


def new_uuid() -> str:
    return str(uuid_lib.uuid4())


@dataclass
class Integration:
    uuid: str
    title: str
    provider: str


@dataclass
class Folder:
    uuid: str
    name: str
    description: str
    parent: str | None
    client_metadata: dict[str, Any] | None
    created_at: str
    last_edited_at: str
    folder_type: str = "generic"
    integration_hash: str | None = None
    remote_url: str | None = None
    synced_dataset_hash: str | None = None


@dataclass
class Item:
    uuid: str
    parent: str
    item_type: str
    name: str
    url: str | None
    integration_hash: str | None
    storage_location: str
    client_metadata: dict[str, Any]
    created_at: str
    last_edited_at: str
    media: dict[str, Any] = field(default_factory=dict)  # StorageItem media fields (camelCase)
    child_urls: list[str] = field(default_factory=list)  # frames of groups and DICOM series
    description: str = ""
    backed_data_units: int = 0
    # A group's frames are items of their own (own uuid and clientMetadata), in frame order.
    child_uuids: list[str] = field(default_factory=list)
    # Set on a frame created with its group: hidden from folder listings and duplicate checks.
    group_uuid: str | None = None

    @property
    def dedupe_key(self) -> str:
        """What `skip_duplicate_urls` compares: the URL, or the frame URLs of a group."""
        return self.url if self.url is not None else "\n".join(self.child_urls)


@dataclass
class UploadJob:
    uuid: str
    folder_uuid: str
    integration_hash: str | None
    ignore_errors: bool
    file_name: str | None
    unit_count: int
    skip_duplicates: bool
    upsert_metadata: bool
    created_at: str
    status: str = "PENDING"  # PENDING | DONE | ERROR | CANCELLED
    done: int = 0
    error: int = 0
    cancelled: int = 0
    items_with_names: list[dict[str, str]] = field(default_factory=list)
    unit_errors: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stalled: bool = False
    resumed: bool = False  # picked up again after a restart

    @property
    def pending(self) -> int:
        return 0 if self.status != "PENDING" else self.unit_count - self.done - self.error


@dataclass
class JobUnits:
    """A job's parsed units, stored apart from the job so progress writes stay small."""

    job_uuid: str
    units: list[dict[str, Any]]


@dataclass
class SyncJob:
    uuid: str
    folder_uuid: str
    status: str  # pending | done | error | cancelled (lower case on the wire)
    units_done: int = 0
    units_error: int = 0


@dataclass
class Dataset:
    uuid: str
    title: str
    description: str
    created_at: str
    last_edited_at: str
    backing_folder_uuid: str | None = None
    data_hashes: list[str] = field(default_factory=list)
    # user email -> "admin" | "user"; empty (datasets saved before roles): every user is admin.
    user_roles: dict[str, str] = field(default_factory=dict)

    def role_of(self, user: str) -> str | None:
        """The user's role on this dataset, None when it is not visible to them."""
        if not self.user_roles:
            return "admin"
        return self.user_roles.get(user)


@dataclass
class DataRow:
    data_hash: str
    dataset_hash: str
    item_uuid: str
    created_at: str
    last_edited_at: str


@dataclass
class Ontology:
    uuid: str
    title: str
    description: str
    editor: dict[str, Any]
    created_at: str
    last_edited_at: str


@dataclass
class Project:
    uuid: str
    title: str
    description: str
    ontology_hash: str
    dataset_hashes: list[str]
    created_at: str
    last_edited_at: str
    workflow_type: str = "manual"
    # A workflow project's stages, copied from its template: [{"uuid", "title", "stageType"}].
    # Empty for a manual-QA project.
    stages: list[dict[str, str]] = field(default_factory=list)
    workflow_template: str | None = None
    # user email -> ProjectUserRole (0 admin, 1 annotator, ... 5 viewer); empty (projects saved
    # before roles): every user is admin.
    user_roles: dict[str, int] = field(default_factory=dict)

    def role_of(self, user: str) -> int | None:
        """The user's role on this project, None when it is not visible to them."""
        if not self.user_roles:
            return 0
        return self.user_roles.get(user)


@dataclass
class LabelRow:
    label_hash: str
    # project, data unit and branch never change after creation: the state indexes them
    project_hash: str
    data_hash: str
    branch_name: str
    created_at: str
    last_edited_at: str
    label_status: LabelStatus = LabelStatus.LABEL_IN_PROGRESS
    labels: dict[str, Any] = field(default_factory=dict)  # the saved to_encord_dict() pieces

    def __post_init__(self) -> None:
        self.label_status = LabelStatus(self.label_status)  # loaded back as a plain string

    @property
    def index_key(self) -> tuple[str, str]:
        return (self.project_hash, self.branch_name)


@dataclass
class WorkflowTemplate:
    uuid: str
    title: str
    stages: list[dict[str, str]]  # [{"uuid", "title", "stageType"}] in workflow order
    created_at: str


@dataclass
class Task:
    """A data unit's place in a workflow project: one task per (project, data unit)."""

    uuid: str
    project_hash: str
    data_hash: str
    stage_uuid: str
    status: str  # NEW | ASSIGNED | RELEASED | REOPENED | ... (the stage's task status names)
    created_at: str
    updated_at: str
    assignee: str | None = None
    # Label reviews opened when the task entered a Review stage: {"reviewUuid", "status",
    # "labelType", "labelId"}.
    reviews: list[dict[str, str]] = field(default_factory=list)


@dataclass
class TaskEvent:
    """One task action, as `analytics/task-actions` reports it."""

    uuid: str
    project_hash: str
    timestamp: str
    action_type: str  # assign | submit | approve | reject | release | move | skip
    stage_uuid: str  # the stage the task was in when the action happened
    task_uuid: str
    data_hash: str
    actor_email: str


@dataclass
class OrgDoc:
    """Organisation-level singletons: metadata schemas (v2 and legacy)."""

    key: str
    value: Any
    updated_at: str = ""
