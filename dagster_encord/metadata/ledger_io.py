"""Between the ledger and metadata upserts: which registered files to upsert, and recording the
outcome per file (the new metadata fingerprint, or the error) without changing its state.

The ledger's `metadata_hash` is `metadata_fingerprint(clientMetadata)`: of the metadata a file
was registered with (set at planning), then of the metadata last sent and verified. A file whose
wanted metadata has that fingerprint is skipped without a request; a mismatch only costs a read,
since `patch_metadata` sends nothing for an item whose stored metadata already equals the merge.

Group items (image groups, sequences) keep one row per member file; each member's `metadata_hash`
is `frames.member_fingerprint(group part, its per-frame part)`, so a change in one frame's
metadata re-sends that frame alone, and errors of a frame are recorded on its member file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dagster_encord.ledger.states import IN_ENCORD_FILE_STATES
from dagster_encord.metadata.frames import CollectedUpdates, FrameUpdate, member_fingerprint
from dagster_encord.metadata.sources import MetadataProvider, group_metadata
from dagster_encord.metadata.upsert import MetadataUpdate, metadata_fingerprint
from dagster_encord.sources.base import ObjectRecord

if TYPE_CHECKING:
    from dagster_encord.ledger import FileRow, Ledger
    from dagster_encord.metadata.upsert_execute import UpsertReport

UPSERTABLE_STATES = IN_ENCORD_FILE_STATES  # files Encord holds an item for
METADATA_ERROR_CLASS = "metadata_upsert"
_EPOCH = datetime.fromtimestamp(0, UTC)  # FileRow keeps no timestamp; providers read key and URL


def _record(row: FileRow) -> ObjectRecord:
    return ObjectRecord(row.key, row.object_url, row.size, row.version, _EPOCH)


def registration_key_for(record: ObjectRecord) -> str:
    """The registration JSON key for a single file, from the planner's classification."""
    from dagster_encord.planner.classify import Classifier, DataType
    from dagster_encord.planner.manifest import MANIFEST_KEYS

    kind = Classifier().classify(record)
    return MANIFEST_KEYS.get(kind.value, "images") if isinstance(kind, DataType) else "images"


def updates_from_ledger(
    ledger: Ledger,
    provider: MetadataProvider,
    *,
    registration_key: Callable[[ObjectRecord], str] = registration_key_for,
) -> Iterator[MetadataUpdate]:
    """A MetadataUpdate for each registered item whose provider gives metadata (per-frame
    metadata of group items is left out; `collect_from_ledger` gives both)."""
    yield from collect_from_ledger(ledger, provider, registration_key=registration_key).updates


def collect_from_ledger(
    ledger: Ledger,
    provider: MetadataProvider,
    *,
    registration_key: Callable[[ObjectRecord], str] = registration_key_for,
) -> CollectedUpdates:
    """Updates for every registered item, and per-frame updates for group items.

    Members of one group item (same item uuid) give one update with the keys they share, since
    Encord keeps clientMetadata per group, and a `FrameUpdate` for the members whose fingerprint
    changed, with the keys each does not share. The group part is re-sent only when every
    member's fingerprint changed (a group-part change changes them all).
    """
    by_item: dict[str, list[FileRow]] = {}
    for row in ledger.files_in_state(*UPSERTABLE_STATES):
        if row.item_uuid:
            by_item.setdefault(row.item_uuid, []).append(row)
    updates: list[MetadataUpdate] = []
    frames: list[FrameUpdate] = []
    for item_uuid, unsorted in by_item.items():
        rows = sorted(unsorted, key=lambda r: r.key)
        records = [_record(row) for row in rows]
        previous = rows[0].metadata_hash
        if len(records) == 1:
            metadata: Mapping[str, Any] | None = provider.metadata_for(records[0])
        else:
            metadata, per_frame = group_metadata([provider.metadata_for(r) for r in records])
            wanted = {
                row.object_url: member_fingerprint(metadata, frame)
                for row, frame in zip(rows, per_frame, strict=True)
            }
            changed = {
                row.object_url for row in rows if row.metadata_hash != wanted[row.object_url]
            }
            if changed:
                frames.append(
                    FrameUpdate(
                        group_item_uuid=item_uuid,
                        group_url=records[0].object_url,
                        frames={
                            row.object_url: frame
                            for row, frame in zip(rows, per_frame, strict=True)
                            if frame and row.object_url in changed
                        },
                        fingerprints={url: wanted[url] for url in sorted(changed)},
                    )
                )
            # An unchanged group part is skipped on its fingerprint, as for a single file.
            previous = None if len(changed) == len(rows) else metadata_fingerprint(metadata)
        if not metadata:
            continue
        updates.append(
            MetadataUpdate(
                object_url=records[0].object_url,
                metadata=metadata,
                item_uuid=item_uuid,
                data_type=registration_key(records[0]),
                previous_fingerprint=previous,
            )
        )
    return CollectedUpdates(tuple(updates), tuple(frames))


def record_upsert_outcome(ledger: Ledger, report: UpsertReport) -> tuple[int, int]:
    """Store fingerprints of verified files and errors of failed ones; states are unchanged.

    With `report.frames`, group members get their member fingerprints (instead of the group
    part's) and frame errors are recorded on the member file. Returns (fingerprints written,
    errors written).
    """
    ok = {
        url: metadata_fingerprint(sent)
        for url, sent in report.sent.items()
        if url not in report.errors
    }
    failed = dict(report.errors)
    if report.frames is not None:
        for update in report.frames.plan.updates:
            ok.pop(update.group_url, None)
        ok.update(report.frames.fingerprints(report.errors))
        for url, message in report.frames.errors.items():
            failed[url] = f"{failed[url]}; frame: {message}" if url in failed else message
    # The ledger's write path: BEGIN IMMEDIATE on SQLite, so another process writing waits
    # for its turn instead of failing with "database is locked".
    ledger.record_metadata_outcome(
        ok, failed, states=UPSERTABLE_STATES, error_class=METADATA_ERROR_CLASS
    )
    return len(ok), len(failed)
