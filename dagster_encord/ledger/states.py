"""The ledger's states (DESIGN §2) as StrEnums: each member equals the string its table stores.

`tables.py` checks every state written (a typed column and a CHECK constraint), so a state that
is not a member here never reaches a row. The sets below name the groups the code asks about.
"""

from __future__ import annotations

from enum import StrEnum


class FileState(StrEnum):
    """A file's place in its life: `encord_files.state`."""

    DISCOVERED = "discovered"  # listed, not yet in a chunk (also: changed, requeued, held)
    PLANNED = "planned"  # in a chunk that has not been submitted
    SUBMITTING = "submitting"  # its chunk is being POSTed (write-ahead mark)
    SUBMITTED = "submitted"  # its chunk's upload job is running
    REGISTERED = "registered"  # Encord created the item (item_uuid)
    LINKED = "linked"  # registered and in at least one dataset (a LINKED dataset link)
    FAILED = "failed"  # a retryable error; requeued after next_attempt_at
    QUARANTINED = "quarantined"  # a permanent error or attempts exhausted
    SKIPPED = "skipped"  # the planner cannot register it (reason in error_message)
    DELETED = "deleted"  # gone from the bucket


class ChunkState(StrEnum):
    """A planned chunk's progress: `encord_chunks.state`."""

    PLANNED = "planned"  # persisted, not yet POSTed
    SUBMITTING = "submitting"  # write-ahead mark before the job POST
    SUBMITTED = "submitted"  # its upload job is running
    COMPLETED = "completed"  # the job finished and its result is recorded
    SUPERSEDED = "superseded"  # a file changed before the POST; its files are planned anew


class LinkState(StrEnum):
    """A file's link to one dataset: `encord_dataset_links.state`."""

    LINKING = "linking"  # write-ahead mark before the link call (healed by listing the dataset)
    LINKED = "linked"  # the dataset has a data row for the file's item (data_hash recorded)
    UNLINKING = "unlinking"  # write-ahead mark before the data row is removed


class JobRecordState(StrEnum):
    """Our record of one upload job POSTed for a chunk: `encord_jobs.state`."""

    RUNNING = "running"
    FINISHED = "finished"


# Chunks that may still be POSTed: `submitting` after a crash is resent (skip_duplicate_urls).
OPEN_CHUNK_STATES: frozenset[ChunkState] = frozenset({ChunkState.PLANNED, ChunkState.SUBMITTING})

# Files a job result still applies to; later states were settled or moved on.
IN_FLIGHT_FILE_STATES: frozenset[FileState] = frozenset({FileState.SUBMITTING, FileState.SUBMITTED})

# Files on their way to Encord: the "pending" term of the reconciliation.
PENDING_FILE_STATES: frozenset[FileState] = frozenset(
    {FileState.DISCOVERED, FileState.PLANNED, FileState.SUBMITTING, FileState.SUBMITTED}
)

# Files `plan` reads: new or requeued ones, and skipped ones (a new planner may accept them).
PLANNABLE_FILE_STATES: frozenset[FileState] = frozenset({FileState.DISCOVERED, FileState.SKIPPED})

# Files Encord holds an item for: counted as registered, and their metadata can be upserted.
IN_ENCORD_FILE_STATES: frozenset[FileState] = frozenset({FileState.REGISTERED, FileState.LINKED})
