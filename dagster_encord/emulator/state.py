"""The emulator's state: every record in memory, indexed for the hot paths, optionally persisted.

One re-entrant lock guards everything; callers hold `state.lock` across a read-modify-write. With a
state file each `save`/`drop` is written through to SQLite, and `EmulatorState.open` loads it back.
The indexes are rebuilt from the records (`index_record`) on every save and load, never persisted.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from dagster_encord.emulator.clock import Clock
from dagster_encord.emulator.records import (
    DataRow,
    Dataset,
    Folder,
    Integration,
    Item,
    JobUnits,
    LabelRow,
    Ontology,
    OrgDoc,
    Project,
    SyncJob,
    Task,
    TaskEvent,
    UploadJob,
    WorkflowTemplate,
)
from dagster_encord.emulator.store import SqliteStore

Record = TypeVar("Record")

# kind -> (record class, name of its key attribute)
KINDS: dict[str, tuple[type, str]] = {
    "integration": (Integration, "uuid"),
    "folder": (Folder, "uuid"),
    "item": (Item, "uuid"),
    "upload_job": (UploadJob, "uuid"),
    "job_units": (JobUnits, "job_uuid"),
    "sync_job": (SyncJob, "uuid"),
    "dataset": (Dataset, "uuid"),
    "data_row": (DataRow, "data_hash"),
    "ontology": (Ontology, "uuid"),
    "project": (Project, "uuid"),
    "label_row": (LabelRow, "label_hash"),
    "workflow_template": (WorkflowTemplate, "uuid"),
    "task": (Task, "uuid"),
    "task_event": (TaskEvent, "uuid"),
    "org": (OrgDoc, "key"),
    "user_key": (OrgDoc, "key"),
}
KIND_OF: dict[type, str] = {cls: kind for kind, (cls, _) in KINDS.items() if kind != "user_key"}


@dataclass
class EmulatorState:
    store: SqliteStore | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    # repr=False: the tables hold bearer tokens (kind user_key), which must never be printed
    tables: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {k: {} for k in KINDS}, repr=False
    )
    # folder uuid -> item uuids (insertion ordered)
    folder_items: dict[str, dict[str, None]] = field(default_factory=lambda: defaultdict(dict))
    # (folder uuid, dedupe key) -> item uuids; more than one = a duplicate
    url_index: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    # bumped on every item change in a folder; keys the listing cache
    folder_version: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # sorted listings keyed by (folder, filters, folder_version): paging 100k items stays cheap
    listing_cache: dict[tuple[Any, ...], list[str]] = field(default_factory=dict)
    # project uuid -> data hash -> task uuid: the workflow routes look tasks up by data unit
    project_tasks: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    # data hash -> (project uuid, branch) -> label hash: a data unit's label rows without a scan
    data_labels: dict[str, dict[tuple[str, str], str]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    clock: Clock = field(default_factory=Clock)

    @classmethod
    def open(cls, path: str | Path | None) -> EmulatorState:
        if path is None:
            return cls()
        state = cls(store=SqliteStore(path))
        for kind, (record_cls, _) in KINDS.items():
            for doc in state.store.load(kind):  # type: ignore[union-attr]
                state.index_record(kind, record_cls(**doc))
        return state

    # --- typed accessors -------------------------------------------------------------------

    @property
    def integrations(self) -> dict[str, Integration]:
        return self.tables["integration"]

    @property
    def folders(self) -> dict[str, Folder]:
        return self.tables["folder"]

    @property
    def items(self) -> dict[str, Item]:
        return self.tables["item"]

    @property
    def upload_jobs(self) -> dict[str, UploadJob]:
        return self.tables["upload_job"]

    @property
    def job_units(self) -> dict[str, JobUnits]:
        return self.tables["job_units"]

    @property
    def sync_jobs(self) -> dict[str, SyncJob]:
        return self.tables["sync_job"]

    @property
    def datasets(self) -> dict[str, Dataset]:
        return self.tables["dataset"]

    @property
    def data_rows(self) -> dict[str, DataRow]:
        return self.tables["data_row"]

    @property
    def ontologies(self) -> dict[str, Ontology]:
        return self.tables["ontology"]

    @property
    def projects(self) -> dict[str, Project]:
        return self.tables["project"]

    @property
    def label_rows(self) -> dict[str, LabelRow]:
        return self.tables["label_row"]

    @property
    def workflow_templates(self) -> dict[str, WorkflowTemplate]:
        return self.tables["workflow_template"]

    @property
    def tasks(self) -> dict[str, Task]:
        return self.tables["task"]

    @property
    def task_events(self) -> dict[str, TaskEvent]:
        return self.tables["task_event"]

    @property
    def user_keys(self) -> dict[str, OrgDoc]:
        return self.tables["user_key"]

    def org(self, key: str, default: Any = None) -> Any:
        doc = self.tables["org"].get(key)
        return default if doc is None else doc.value

    def set_org(self, key: str, value: Any) -> None:
        self.save(OrgDoc(key=key, value=value, updated_at=self.clock.now_iso()))

    # --- writes ----------------------------------------------------------------------------

    def save(self, *records: Any, kind: str | None = None) -> None:
        self.save_many(records, kind=kind)

    def save_many(self, records: Iterable[Any], kind: str | None = None) -> None:
        by_kind: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        with self.lock:
            for record in records:
                record_kind = kind or KIND_OF[type(record)]
                key = self.index_record(record_kind, record)
                if self.store is not None:
                    by_kind[record_kind].append((key, vars(record)))
            if self.store is not None:
                for record_kind, docs in by_kind.items():
                    self.store.put_many(record_kind, docs)

    def drop(self, kind: str, keys: Iterable[str]) -> None:
        keys = list(keys)
        with self.lock:
            table = self.tables[kind]
            for key in keys:
                record = table.pop(key, None)
                if isinstance(record, Item):
                    self._unindex_item(record)
                elif isinstance(record, Task):
                    self.project_tasks[record.project_hash].pop(record.data_hash, None)
                elif isinstance(record, LabelRow):
                    self._unindex_label(record)
            if self.store is not None:
                self.store.delete_many(kind, keys)

    def reset(self) -> None:
        with self.lock:
            for table in self.tables.values():
                table.clear()
            self.folder_items.clear()
            self.url_index.clear()
            self.folder_version.clear()
            self.listing_cache.clear()
            self.project_tasks.clear()
            self.data_labels.clear()
            self.clock.unfreeze()
            if self.store is not None:
                self.store.clear()

    def close(self) -> None:
        if self.store is not None:
            self.store.close()

    # --- indexes ---------------------------------------------------------------------------

    def index_record(self, kind: str, record: Any) -> str:
        key: str = getattr(record, KINDS[kind][1])
        table = self.tables[kind]
        if isinstance(record, Item) and record.group_uuid is None:
            previous = table.get(key)
            if previous is not None:
                self._unindex_item(previous)
            self.folder_items[record.parent][key] = None
            self.url_index[(record.parent, record.dedupe_key)].append(key)
            self.folder_version[record.parent] += 1
        elif isinstance(record, Task):
            self.project_tasks[record.project_hash][record.data_hash] = key
        elif isinstance(record, LabelRow):
            previous = table.get(key)
            if previous is not None and previous is not record:
                self._unindex_label(previous)
            self.data_labels[record.data_hash][(record.project_hash, record.branch_name)] = key
        table[key] = record
        return key

    def _unindex_label(self, label: LabelRow) -> None:
        branches = self.data_labels.get(label.data_hash)
        if branches is not None and branches.get(label.index_key) == label.label_hash:
            del branches[label.index_key]
            if not branches:
                del self.data_labels[label.data_hash]

    def _unindex_item(self, item: Item) -> None:
        if item.group_uuid is not None:  # frames are never in the folder indexes
            return
        self.folder_items[item.parent].pop(item.uuid, None)
        same_key = self.url_index.get((item.parent, item.dedupe_key))
        if same_key is not None and item.uuid in same_key:
            same_key.remove(item.uuid)
            if not same_key:
                del self.url_index[(item.parent, item.dedupe_key)]
        self.folder_version[item.parent] += 1

    # --- queries ---------------------------------------------------------------------------

    def own_frames(self, group: Item) -> list[Item]:
        """The frame items created with `group` (not items an image group was built from)."""
        with self.lock:
            frames = (self.items.get(u) for u in group.child_uuids)
            return [f for f in frames if f is not None and f.group_uuid == group.uuid]

    def items_with_key(self, folder_uuid: str, dedupe_key: str) -> list[Item]:
        with self.lock:
            return [self.items[u] for u in self.url_index.get((folder_uuid, dedupe_key), ())]

    def duplicate_items(self) -> int:
        """Items beyond the first with the same URL (or frame URLs) in one folder."""
        with self.lock:
            return sum(len(uuids) - 1 for uuids in self.url_index.values() if len(uuids) > 1)

    def label_row_of(
        self, project_hash: str, data_hash: str, branch: str = "main"
    ) -> LabelRow | None:
        """The data unit's label row on `branch` of the project, if it has one."""
        label_hash = self.data_labels.get(data_hash, {}).get((project_hash, branch))
        return self.label_rows.get(label_hash) if label_hash is not None else None

    def label_rows_of(self, project_hash: str, data_hash: str) -> list[LabelRow]:
        """The data unit's label rows in the project, one per branch: main first, then by name."""
        found = [
            self.label_rows[label_hash]
            for (project, _), label_hash in self.data_labels.get(data_hash, {}).items()
            if project == project_hash
        ]
        return sorted(found, key=lambda r: (r.branch_name != "main", r.branch_name))

    def label_hashes_of_data(self, data_hashes: Iterable[str]) -> list[str]:
        """Every label row (any project, any branch) of these data units."""
        return [h for d in data_hashes for h in self.data_labels.get(d, {}).values()]

    def subtree(self, folder_uuid: str) -> list[str]:
        """The folder and all folders below it."""
        with self.lock:
            children: dict[str | None, list[str]] = defaultdict(list)
            for folder in self.folders.values():
                children[folder.parent].append(folder.uuid)
            result, stack = [], [folder_uuid]
            while stack:
                current = stack.pop()
                result.append(current)
                stack.extend(children.get(current, ()))
            return result
