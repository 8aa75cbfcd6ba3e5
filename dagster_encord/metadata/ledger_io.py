"""Between the ledger and metadata upserts: which registered files to upsert, and recording the
outcome per file (the new metadata fingerprint, or the error) without changing its state.

The ledger's `metadata_hash` is `metadata_fingerprint(clientMetadata)`: of the metadata a file
was registered with (set at planning), then of the metadata last sent and verified. A file whose
wanted metadata has that fingerprint is skipped without a request; a mismatch only costs a read,
since `patch_metadata` sends nothing for an item whose stored metadata already equals the merge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dagster_encord.metadata.sources import MetadataProvider, group_metadata
from dagster_encord.metadata.upsert import MetadataUpdate, metadata_fingerprint
from dagster_encord.sources.base import ObjectRecord

if TYPE_CHECKING:
    from dagster_encord.encord_client.metadata_ops import UpsertReport
    from dagster_encord.ledger import FileRow, Ledger

UPSERTABLE_STATES = ("registered", "linked")
METADATA_ERROR_CLASS = "metadata_upsert"
# Planner data type -> top-level key of the registration JSON (for re-registration).
REGISTRATION_KEYS: Mapping[str, str] = {
    "image": "images",
    "video": "videos",
    "audio": "audio",
    "text": "text",
    "pdf": "pdfs",
    "nifti": "nifti",
}
_EPOCH = datetime.fromtimestamp(0, UTC)  # FileRow keeps no timestamp; providers read key and URL


def _record(row: FileRow) -> ObjectRecord:
    return ObjectRecord(row.key, row.object_url, row.size, row.version, _EPOCH)


def registration_key_for(record: ObjectRecord) -> str:
    """The registration JSON key for a single file, from the planner's classification."""
    from dagster_encord.planner.classify import Classifier, DataType

    kind = Classifier().classify(record)
    return REGISTRATION_KEYS.get(kind.value, "images") if isinstance(kind, DataType) else "images"


def updates_from_ledger(
    ledger: Ledger,
    provider: MetadataProvider,
    *,
    registration_key: Callable[[ObjectRecord], str] = registration_key_for,
) -> Iterator[MetadataUpdate]:
    """A MetadataUpdate for each registered item whose provider gives metadata.

    Members of one group item (same item uuid) give one update with the keys they share, since
    Encord keeps clientMetadata per group.
    """
    by_item: dict[str, list[FileRow]] = {}
    for row in ledger.files_in_state(*UPSERTABLE_STATES):
        if row.item_uuid:
            by_item.setdefault(row.item_uuid, []).append(row)
    for item_uuid, rows in by_item.items():
        records = [_record(row) for row in sorted(rows, key=lambda r: r.key)]
        if len(records) == 1:
            metadata: Mapping[str, Any] | None = provider.metadata_for(records[0])
        else:
            metadata, _per_frame = group_metadata([provider.metadata_for(r) for r in records])
        if not metadata:
            continue
        yield MetadataUpdate(
            object_url=records[0].object_url,
            metadata=metadata,
            item_uuid=item_uuid,
            data_type=registration_key(records[0]),
            previous_fingerprint=rows[0].metadata_hash,
        )


def record_upsert_outcome(ledger: Ledger, report: UpsertReport) -> tuple[int, int]:
    """Store fingerprints of verified files and errors of failed ones; states are unchanged.

    Returns (fingerprints written, errors written).
    """
    ok = {
        url: metadata_fingerprint(sent)
        for url, sent in report.sent.items()
        if url not in report.errors
    }
    # The ledger's write path: BEGIN IMMEDIATE on SQLite, so another process writing waits
    # for its turn instead of failing with "database is locked".
    ledger.record_metadata_outcome(
        ok, report.errors, states=UPSERTABLE_STATES, error_class=METADATA_ERROR_CLASS
    )
    return len(ok), len(report.errors)
