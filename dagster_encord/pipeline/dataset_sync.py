"""The dataset sync step: registered files linked to the configured datasets (no Dagster here).

`sync_datasets(client, ledger, settings)`:
1. Each configured dataset is found by exact title, or created without a backing folder.
2. The ledger's files become items (a group's files share one) with the metadata the
   pipeline's provider gives them; `annotation.datasets` decides what belongs where.
3. Per dataset: links a crash left `linking`/`unlinking` are healed from the dataset's rows;
   then data rows are unlinked (write-ahead `unlinking`, the call, the rows dropped) and items
   linked in batches of `BATCH_LIMIT` (write-ahead `linking`, the call, the data rows recorded).
   Items the link call skips (already in the dataset) are looked up in one listing of its rows.
4. `on_delete: delete`: storage items whose files are all gone from the bucket are deleted,
   after their rows left every dataset (items already gone are found by a bulk read).
5. Files with a linked row are `linked` in the ledger, the others `registered`.

An unchanged re-run reads (one lookup per dataset) and writes nothing to Encord.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from dagster_encord.annotation.datasets import (
    DatasetPlan,
    OnDelete,
    Presence,
    RegisteredItem,
    desired_links,
    heal,
    items_to_delete,
    needs_metadata,
    plan_dataset,
)
from dagster_encord.config import DatasetRule
from dagster_encord.encord_client.client import EncordClient
from dagster_encord.encord_client.datasets import BATCH_LIMIT, DatasetRef
from dagster_encord.encord_client.storage import READ_BATCH_SIZE
from dagster_encord.errors import EncordPermissionError
from dagster_encord.ledger import IN_ENCORD_FILE_STATES, DatasetLinks, FileRow, FileState, Ledger
from dagster_encord.ledger.states import LinkState
from dagster_encord.metadata.sources import MetadataProvider, group_metadata
from dagster_encord.pipeline.settings import IngestionSettings
from dagster_encord.sources.base import ObjectRecord

_T = TypeVar("_T")
_EPOCH = datetime.fromtimestamp(0, UTC)  # FileRow keeps no timestamp; providers read key and URL


@dataclass
class DatasetSyncReport:
    """What one sync did. Counts are files (a group counts each member); `requests` are the
    client calls made (opening a dataset for its first write or listing adds one GET)."""

    datasets: dict[str, str] = field(default_factory=dict)  # title -> dataset hash
    created: list[str] = field(default_factory=list)
    linked: Counter[str] = field(default_factory=Counter)
    unlinked: Counter[str] = field(default_factory=Counter)
    kept: Counter[str] = field(default_factory=Counter)  # gone from the bucket, links kept
    in_dataset: Counter[str] = field(default_factory=Counter)  # linked after the sync
    healed: int = 0
    link_misses: int = 0  # linked files Encord neither created nor listed (dropped, retried)
    items_deleted: int = 0
    requests: int = 0
    writes: int = 0
    seconds: float = 0.0


@dataclass
class FilesView:
    """The ledger's files as the planner needs them."""

    items: list[RegisteredItem] = field(default_factory=list)
    presence: dict[str, Presence] = field(default_factory=dict)
    gone_items: dict[str, set[str]] = field(default_factory=dict)  # every file deleted


def sync_datasets(
    client: EncordClient,
    ledger: Ledger,
    settings: IngestionSettings,
    *,
    batch_size: int = BATCH_LIMIT,
) -> DatasetSyncReport:
    """Link, unlink and delete so Encord's datasets match the rules (module docstring)."""
    started = time.monotonic()
    rules = settings.config.datasets
    on_delete: OnDelete = settings.config.on_delete
    report = DatasetSyncReport()
    refs = {rule.title: _resolve(client, rule, report) for rule in rules}
    provider = settings.metadata_provider if needs_metadata(rules) else None
    view = files_view(ledger, provider)
    desired = desired_links(rules, view.items, settings.prefix)
    links = ledger.dataset_links
    for title, ref in refs.items():
        _sync_one(client, links, ref, desired[title], view, on_delete, batch_size, report)
    _delete_items(client, links, settings.folder, view, on_delete, batch_size, report)
    links.sync_file_states()
    for title, ref in refs.items():
        report.in_dataset[title] = links.count(ref.dataset_hash)
    report.seconds = time.monotonic() - started
    return report


def _resolve(client: EncordClient, rule: DatasetRule, report: DatasetSyncReport) -> DatasetRef:
    ref = client.find_dataset(rule.title)
    report.requests += 1
    if ref is None:
        ref = client.create_dataset(rule.title, rule.description)
        report.requests += 1
        report.writes += 1
        report.created.append(rule.title)
    if not ref.is_admin:
        raise EncordPermissionError(
            f"Encord dataset {rule.title!r} ({ref.dataset_hash}): the key's user has the user "
            "role, and linking files needs admin; ask one of the dataset's admins to make this "
            "user an admin (Annotate > Datasets > the dataset > Settings, or dataset.add_users)"
        )
    report.datasets[rule.title] = ref.dataset_hash
    return ref


def files_view(ledger: Ledger, provider: MetadataProvider | None) -> FilesView:
    """Items (with the provider's metadata, when given), where each key stands, and the items
    whose files are all gone from the bucket."""
    view = FilesView()
    live: dict[str, list[FileRow]] = {}
    for row in ledger.iter_files():  # key order: a group's members come sorted
        if row.state in IN_ENCORD_FILE_STATES and row.item_uuid:
            view.presence[row.key] = Presence.LIVE
            live.setdefault(row.item_uuid, []).append(row)
        elif row.state == FileState.DELETED:
            view.presence[row.key] = Presence.GONE
            if row.item_uuid:
                view.gone_items.setdefault(row.item_uuid, set()).add(row.key)
        else:
            view.presence[row.key] = Presence.PENDING
    for item_uuid in live:
        view.gone_items.pop(item_uuid, None)  # a group with a member left is not gone
    view.items = [
        RegisteredItem(item_uuid, tuple(row.key for row in rows), _metadata(provider, rows))
        for item_uuid, rows in live.items()
    ]
    return view


def _metadata(provider: MetadataProvider | None, rows: Sequence[FileRow]) -> dict[str, object]:
    """The item's clientMetadata: the file's, or the keys a group's members share."""
    if provider is None:
        return {}
    records = [ObjectRecord(r.key, r.object_url, r.size, r.version, _EPOCH) for r in rows]
    if len(records) == 1:
        return dict(provider.metadata_for(records[0]) or {})
    shared, _per_frame = group_metadata([provider.metadata_for(record) for record in records])
    return shared


class _Rows:
    """The dataset's rows (item uuid -> data hash), listed at most when needed."""

    def __init__(self, client: EncordClient, dataset_hash: str, report: DatasetSyncReport):
        self._client, self._hash, self._report = client, dataset_hash, report
        self._rows: dict[str, str] | None = None

    def get(self, *, refresh: bool = False) -> dict[str, str]:
        if self._rows is None or refresh:
            listed = self._client.dataset_rows(self._hash)
            self._report.requests += 1
            self._rows = {row.item_uuid: row.data_hash for row in listed}
        return self._rows

    @property
    def listed(self) -> bool:
        return self._rows is not None


def _sync_one(
    client: EncordClient,
    links: DatasetLinks,
    ref: DatasetRef,
    desired: dict[str, tuple[str, ...]],
    view: FilesView,
    on_delete: OnDelete,
    batch_size: int,
    report: DatasetSyncReport,
) -> None:
    dataset_hash, title = ref.dataset_hash, ref.title
    rows = _Rows(client, dataset_hash, report)
    recorded = links.links(dataset_hash)
    pending = [link for link in recorded if link.state != LinkState.LINKED]
    if pending:
        healed = heal(pending, rows.get())
        links.record_linked(dataset_hash, healed.linked)
        links.drop(dataset_hash, healed.not_linked)
        links.restore_linked(dataset_hash, healed.still_there)
        links.record_unlinked(dataset_hash, healed.unlinked)
        report.healed += healed.count
        recorded = links.links(dataset_hash)
    plan = plan_dataset(desired, recorded, view.presence, on_delete)
    report.kept[title] += plan.kept
    # Unlink first: a key moving to another item gets its new row after the old one is gone.
    for batch in _batches(list(plan.unlink), batch_size):
        links.mark_unlinking(dataset_hash, batch)
        client.unlink_data(dataset_hash, batch)
        report.requests += 1
        report.writes += 1
        links.record_unlinked(dataset_hash, batch)
        report.unlinked[title] += sum(len(plan.unlink[data_hash]) for data_hash in batch)
    links.drop(dataset_hash, plan.drop)
    links.record_linked(dataset_hash, plan.adopt)
    report.linked[title] += len(plan.adopt)
    _link(client, links, ref, plan, rows, batch_size, report)


def _link(
    client: EncordClient,
    links: DatasetLinks,
    ref: DatasetRef,
    plan: DatasetPlan,
    rows: _Rows,
    batch_size: int,
    report: DatasetSyncReport,
) -> None:
    dataset_hash = ref.dataset_hash
    for batch in _batches(list(plan.link), batch_size):
        links.mark_linking(dataset_hash, [(key, u) for u in batch for key in plan.link[u]])
        listed_before_call = rows.listed
        created = {row.item_uuid: row.data_hash for row in client.link_items(dataset_hash, batch)}
        report.requests += 1
        report.writes += 1
        missing = [item_uuid for item_uuid in batch if item_uuid not in created]
        if missing:
            # Skipped as duplicates: linked before (by hand, or by a call whose answer was lost).
            found = rows.get()
            if any(u not in found for u in missing) and listed_before_call:
                found = rows.get(refresh=True)
            created.update({u: found[u] for u in missing if u in found})
        done = [(key, u, created[u]) for u in batch if u in created for key in plan.link[u]]
        lost = [key for u in batch if u not in created for key in plan.link[u]]
        links.record_linked(dataset_hash, done)
        links.drop(dataset_hash, lost)  # planned again next time
        report.linked[ref.title] += len(done)
        report.link_misses += len(lost)


def _delete_items(
    client: EncordClient,
    links: DatasetLinks,
    folder: str,
    view: FilesView,
    on_delete: OnDelete,
    batch_size: int,
    report: DatasetSyncReport,
) -> None:
    doomed = items_to_delete(view.gone_items, on_delete)
    if not doomed:
        return
    # A crash after a deletion and before it was recorded: such items are gone already.
    existing = client.get_items(list(doomed))
    report.requests += -(-len(doomed) // READ_BATCH_SIZE)
    links.forget_items([key for u in existing.errors for key in doomed[u]])
    for batch in _batches([u for u in doomed if u in existing.items], batch_size):
        client.delete_items(folder, batch)
        report.requests += 1
        report.writes += 1
        links.forget_items([key for u in batch for key in doomed[u]])
        report.items_deleted += len(batch)


def _batches(values: list[_T], size: int) -> Iterator[list[_T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
