"""The SDK calls for custom metadata (no Dagster): load, diff, apply, save and verify the metadata
schema; bulk item patches through `Bundle`; and reading metadata back.

Requests are batched: items are fetched with `get_storage_items` (one request per
`read_batch_size` uuids), patched with `Bundle` (one request per 1,000 items) and read back the
same way. A batch that names a missing item is split in halves until the missing item is found,
so one bad uuid costs a few requests and never sinks the rest.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dagster_encord.encord_client.client import EncordClient, translate_sdk_error
from dagster_encord.encord_client.jobs import FINISHED_STATUSES, JobState
from dagster_encord.errors import EncordError, SchemaError
from dagster_encord.metadata.frames import FrameReport
from dagster_encord.metadata.schema import (
    DeclaredSchema,
    LiveKey,
    SchemaAction,
    SchemaPlan,
    diff_schema,
    live_schema_from_wire,
)
from dagster_encord.metadata.upsert import (
    PATCH_BATCH_LIMIT,
    UpsertPlan,
    canonical_json,
    merge_metadata,
    reregister_manifest,
    verify_readback,
)

if TYPE_CHECKING:
    from encord.metadata_schema import MetadataSchema
    from encord.storage import StorageItem
    from encord.user_client import EncordUserClient

READ_BATCH_SIZE = 5000


# --- schema -------------------------------------------------------------------------------------


def live_keys(sdk_schema: MetadataSchema) -> dict[str, LiveKey]:
    """The SDK's loaded schema as LiveKeys. `repr(MetadataSchema)` is its wire JSON, the only
    public view that keeps a soft-deleted key's old type."""
    return live_schema_from_wire(json.loads(repr(sdk_schema)))


def load_live_schema(user_client: EncordUserClient) -> dict[str, LiveKey]:
    try:
        return live_keys(user_client.metadata_schema())
    except Exception as error:
        raise translate_sdk_error(error, "loading the metadata schema") from None


def _apply(sdk_schema: MetadataSchema, action: SchemaAction) -> None:
    key = action.key
    if action.action == "add_scalar":
        sdk_schema.add_scalar(key, data_type=action.type)  # type: ignore[arg-type]
    elif action.action == "set_scalar":
        sdk_schema.set_scalar(key, data_type=action.type)  # type: ignore[arg-type]
    elif action.action == "add_enum":
        sdk_schema.add_enum(key, values=list(action.values))
    elif action.action == "add_enum_options":
        sdk_schema.add_enum_options(key, values=list(action.values))
    elif action.action == "add_embedding":
        sdk_schema.add_embedding(key, size=int(action.size or 0))
    elif action.action == "restore_key":
        sdk_schema.restore_key(key)
    elif action.action == "delete_key":
        sdk_schema.delete_key(key, hard=action.hard)


@dataclass(frozen=True)
class SchemaSyncResult:
    """What the sync did. `verified` is True when the reloaded schema matches the declaration
    and still holds every key that was live before."""

    plan: SchemaPlan
    applied: bool
    verified: bool
    live_key_count: int
    actions: tuple[str, ...] = ()


def sync_schema(
    user_client: EncordUserClient, declared: DeclaredSchema, *, dry_run: bool = False
) -> SchemaSyncResult:
    """Load the live schema, diff, apply the safe actions, save, reload and verify.

    A save replaces the whole schema, so the plan is applied to the loaded schema object: keys
    that exist in Encord but are not declared travel along and are never lost. Conflicts (a type
    change that is not allowed, a hard-deleted key) raise SchemaError before anything is saved.
    """
    from encord.metadata_schema import MetadataSchemaError

    try:
        sdk_schema = user_client.metadata_schema()
    except Exception as error:
        raise translate_sdk_error(error, "loading the metadata schema") from None
    before = live_keys(sdk_schema)
    plan = diff_schema(declared, before)
    if plan.conflicts:
        raise SchemaError(
            f"metadata schema {declared.origin} cannot be applied safely; nothing was saved:\n  - "
            + "\n  - ".join(plan.conflicts)
        )
    described = tuple(action.describe() for action in plan.actions)
    if dry_run or not plan.actions:
        return SchemaSyncResult(plan, False, not plan.actions, len(before), described)
    for action in plan.actions:
        try:
            _apply(sdk_schema, action)
        except (MetadataSchemaError, ValueError) as error:
            raise SchemaError(
                f"metadata schema {declared.origin}: {action.describe()} refused by the SDK "
                f"({error}); nothing was saved"
            ) from None
    try:
        sdk_schema.save()
        after = load_live_schema(user_client)
    except SchemaError:
        raise
    except Exception as error:
        raise translate_sdk_error(error, "saving the metadata schema") from None
    problems = verify_schema(declared, before, after)
    if problems:
        raise SchemaError(
            f"metadata schema {declared.origin} was saved but the reloaded schema does not match:"
            "\n  - " + "\n  - ".join(problems)
        )
    return SchemaSyncResult(plan, True, True, len(after), described)


def verify_schema(
    declared: DeclaredSchema, before: Mapping[str, LiveKey], after: Mapping[str, LiveKey]
) -> list[str]:
    """Problems with a reloaded schema: declared keys not in place, keys lost, deletes not done."""
    problems = [f"after saving: {c}" for c in diff_schema(declared, after).conflicts]
    remaining = diff_schema(declared, after).actions
    problems += [f"still pending after saving: {a.describe()}" for a in remaining]
    for name in before:
        if name not in after:
            problems.append(f"key {name!r} existed before the save and is gone")
    return problems


# --- items --------------------------------------------------------------------------------------


@dataclass
class ItemsRead:
    items: dict[str, StorageItem] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def get_items(
    user_client: EncordUserClient, item_uuids: Sequence[str], *, batch_size: int = READ_BATCH_SIZE
) -> ItemsRead:
    """Storage items by uuid in bulk; missing or invisible items become per-item errors."""
    result = ItemsRead()
    for start in range(0, len(item_uuids), batch_size):
        _get_batch(user_client, list(item_uuids[start : start + batch_size]), result)
    return result


def _get_batch(user_client: EncordUserClient, batch: list[str], into: ItemsRead) -> None:
    from encord.exceptions import AuthorisationError, ResourceNotFoundError

    if not batch:
        return
    try:
        items = user_client.get_storage_items(batch)
    except (AuthorisationError, ResourceNotFoundError):
        # Encord refuses the whole batch when one uuid is missing: bisect to find it.
        if len(batch) == 1:
            into.errors[batch[0]] = "item not found in Encord, or not visible to this user"
            return
        middle = len(batch) // 2
        _get_batch(user_client, batch[:middle], into)
        _get_batch(user_client, batch[middle:], into)
        return
    except ValueError:
        # A malformed uuid fails client-side; find and report it alone.
        if len(batch) == 1:
            into.errors[batch[0]] = "not a valid item uuid"
            return
        middle = len(batch) // 2
        _get_batch(user_client, batch[:middle], into)
        _get_batch(user_client, batch[middle:], into)
        return
    except Exception as error:
        raise translate_sdk_error(error, f"reading {len(batch)} storage items") from None
    for item in items:
        into.items[str(item.uuid)] = item


def read_metadata(
    user_client: EncordUserClient, item_uuids: Sequence[str], *, batch_size: int = READ_BATCH_SIZE
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Item uuid -> stored clientMetadata, and item uuid -> error for unreadable items."""
    read = get_items(user_client, item_uuids, batch_size=batch_size)
    return {
        uuid: dict(item.client_metadata or {}) for uuid, item in read.items.items()
    }, read.errors


@dataclass
class PatchOutcome:
    """Per item: patched (with the metadata now stored), unchanged, or an error."""

    patched: dict[str, dict[str, Any]] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def patch_metadata(
    user_client: EncordUserClient,
    updates: Mapping[str, Mapping[str, Any]],
    *,
    batch_size: int = PATCH_BATCH_LIMIT,
    read_batch_size: int = READ_BATCH_SIZE,
) -> PatchOutcome:
    """Merge `updates` (item uuid -> keys to set) into items' metadata with bulk patches.

    Each item's current metadata is read (bulk) and merged with the update, and the merged
    object is sent, so the result is a merge whether the server merges or replaces. Items whose
    metadata would not change are not patched.
    """
    if not 1 <= batch_size <= PATCH_BATCH_LIMIT:
        raise ValueError(f"batch_size must be 1..{PATCH_BATCH_LIMIT}, got {batch_size}")
    outcome = PatchOutcome()
    read = get_items(user_client, list(updates), batch_size=read_batch_size)
    outcome.errors.update(read.errors)
    pending: list[tuple[StorageItem, dict[str, Any]]] = []
    for item_uuid, update in updates.items():
        item = read.items.get(item_uuid)
        if item is None:
            continue
        current = dict(item.client_metadata or {})
        merged = merge_metadata(current, update)
        if canonical_json(merged) == canonical_json(current):
            outcome.unchanged.append(item_uuid)
        else:
            pending.append((item, merged))
    for start in range(0, len(pending), batch_size):
        _patch_chunk(pending[start : start + batch_size], outcome)
    return outcome


PATCH_ATTEMPTS = 3  # the SDK never retries PATCH, so transient failures are retried here


def _patch_chunk(
    chunk: list[tuple[StorageItem, dict[str, Any]]], outcome: PatchOutcome, attempt: int = 1
) -> None:
    """One bulk patch request.

    Encord refuses the whole request when it refuses one item, so a refused chunk is split in
    halves until the refused item stands alone. A 429 or a server error is retried as is.
    """
    import time

    from encord.exceptions import (
        AuthorisationError,
        InvalidArgumentsError,
        PayloadTooLargeError,
        RateLimitExceededError,
        ResourceNotFoundError,
    )
    from encord.http.bundle import Bundle

    refused = (
        InvalidArgumentsError,
        AuthorisationError,
        ResourceNotFoundError,
        PayloadTooLargeError,
    )
    try:
        with Bundle(bundle_size=len(chunk)) as bundle:
            for item, merged in chunk:
                item.update(client_metadata=merged, bundle=bundle)
    except refused as error:
        if len(chunk) > 1:
            middle = len(chunk) // 2
            _patch_chunk(chunk[:middle], outcome)
            _patch_chunk(chunk[middle:], outcome)
            return
        item = chunk[0][0]
        failure = translate_sdk_error(error, f"patching the metadata of item {item.uuid}")
        outcome.errors[str(item.uuid)] = str(failure)
        return
    except Exception as error:
        if attempt < PATCH_ATTEMPTS:
            wait = error.retry_after if isinstance(error, RateLimitExceededError) else None
            time.sleep(float(wait) if wait is not None else 1.5 * attempt)
            _patch_chunk(chunk, outcome, attempt + 1)
            return
        failure = translate_sdk_error(error, f"patching the metadata of {len(chunk)} items")
        for item, _ in chunk:
            outcome.errors[str(item.uuid)] = str(failure)
        return
    for item, merged in chunk:
        outcome.patched[str(item.uuid)] = merged


# --- executing an upsert plan -------------------------------------------------------------------


SKIPPED_BY_FINGERPRINT = (
    "unchanged: the ledger's fingerprint of the metadata last registered or verified equals the "
    "wanted metadata; not sent, not read back"
)


@dataclass
class UpsertReport:
    """The outcome of `execute_upserts`, per item. `errors` maps object URL -> message (what the
    ledger records); for verified items `stored` holds the metadata read back and `sent` what
    was sent.

    `verified` counts only items whose metadata was read back from Encord after this run and
    matched. Files the plan left alone because the ledger's fingerprint already equals the wanted
    metadata are neither sent nor read (a re-run over an unchanged bucket costs no request):
    they are listed in `skipped` (object URL -> reason) and counted in `unchanged`.
    """

    mode: str
    patched: int = 0
    unchanged: int = 0
    reregistered: int = 0
    verified: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    upload_job_id: str | None = None
    frames: FrameReport | None = None  # per-frame upserts of group items, when any


def execute_upserts(
    client: EncordClient,
    plan: UpsertPlan,
    *,
    folder: str | None = None,
    integration: str | None = None,
    read_batch_size: int = READ_BATCH_SIZE,
    job_timeout_seconds: float = 600.0,
    poll_interval_seconds: float = 1.0,
) -> UpsertReport:
    """Send the plan's existing-item updates, then read the metadata back and verify it.

    `patch` mode sends Bundle patches (merge). `reregister` mode submits one registration JSON
    with `skip_duplicate_urls` + `upsert_metadata` to `folder` through `integration` (uuids or
    titles; overwrite), waits for the job, and reads back. Every item sent, and every item a
    patch found already holding the wanted keys, is read back in bulk and verified; files the
    ledger's fingerprint marks unchanged (`plan.unchanged`) are skipped, see `UpsertReport`.
    New files (`plan.inline`) are not sent here: their metadata travels inline in the
    registration manifests.
    """
    user_client = client.user_client
    report = UpsertReport(mode=plan.mode, unchanged=len(plan.unchanged))
    for url in plan.unchanged:
        report.skipped[url] = SKIPPED_BY_FINGERPRINT
    for violation in plan.rejected:
        report.errors.setdefault(violation.file, str(violation))
    expected: dict[str, dict[str, Any]] = {}
    if plan.mode == "patch":
        # One call for all batches, so items are read in `read_batch_size` requests.
        updates = {uuid: meta for batch in plan.patch_batches for uuid, meta in batch.items()}
        outcome = patch_metadata(user_client, updates, read_batch_size=read_batch_size)
        report.patched = len(outcome.patched)
        report.unchanged += len(outcome.unchanged)
        for item_uuid, message in outcome.errors.items():
            report.errors[plan.url_by_item.get(item_uuid, item_uuid)] = message
        for item_uuid in [*outcome.patched, *outcome.unchanged]:
            expected[item_uuid] = dict(updates[item_uuid])
    elif plan.reregister:
        if folder is None or integration is None:
            raise ValueError("reregister mode needs the folder and the integration (uuid or title)")
        integration_uuid = client.resolve_integration(integration).integration_uuid
        report.upload_job_id = client.start_upload_job(
            folder, integration_uuid, reregister_manifest(plan.reregister)
        )
        state = _wait_for_job(
            client, folder, report.upload_job_id, job_timeout_seconds, poll_interval_seconds
        )
        failed_urls = {url: f.error for f in state.failures for url in f.object_urls}
        report.errors.update(failed_urls)
        for update in plan.reregister:
            if update.object_url not in failed_urls and update.item_uuid is not None:
                expected[update.item_uuid] = dict(update.metadata)
        report.reregistered = len(expected)
    if not expected:
        return report
    stored, read_errors = read_metadata(user_client, list(expected), batch_size=read_batch_size)
    for item_uuid, message in read_errors.items():
        report.errors[plan.url_by_item.get(item_uuid, item_uuid)] = message
    problems = verify_readback(
        {k: v for k, v in expected.items() if k in stored}, stored, mode=plan.mode
    )
    for item_uuid, message in problems.items():
        report.errors[plan.url_by_item.get(item_uuid, item_uuid)] = f"read-back: {message}"
    report.verified = len(stored) - len(problems)
    verified = [k for k in stored if k not in problems]
    report.stored = {plan.url_by_item.get(k, k): stored[k] for k in verified}
    report.sent = {plan.url_by_item.get(k, k): expected[k] for k in verified}
    return report


def _wait_for_job(
    client: EncordClient, folder: str, job_id: str, timeout: float, interval: float
) -> JobState:
    import time

    deadline = time.monotonic() + timeout
    while True:
        state = client.poll_upload_job(folder, job_id)
        if state.status in FINISHED_STATUSES:
            return state
        if time.monotonic() > deadline:
            raise EncordError(
                f"metadata re-registration job {job_id} did not finish within {timeout:.0f} s; "
                "its result will be picked up by the job sensor"
            )
        time.sleep(state.retry_after or interval)


def iter_folder_metadata(
    client: EncordClient, folder: str, *, page_size: int = 1000
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(item uuid, url or name, clientMetadata) for every item directly in the folder, listed in
    pages of `page_size` items (one request each)."""
    target = client.user_client.get_storage_folder(client.resolve_folder(folder).folder_uuid)
    try:
        for item in target.list_items(include_client_metadata=True, page_size=page_size):
            yield str(item.uuid), item.url or item.name, dict(item.client_metadata or {})
    except Exception as error:
        raise translate_sdk_error(error, f"listing metadata in folder {folder!r}") from None


def group_frames(user_client: EncordUserClient, group_item_uuid: str) -> list[StorageItem]:
    """The frames (child items) of an image group, image sequence or DICOM series, in frame
    order: two requests (the group, then its child items)."""
    try:
        group = user_client.get_storage_item(group_item_uuid)
        return list(group.get_child_items())
    except Exception as error:
        raise translate_sdk_error(
            error, f"listing the frames of image group {group_item_uuid}"
        ) from None


def read_group_frames(
    user_client: EncordUserClient, group_item_uuid: str
) -> dict[str, dict[str, Any]]:
    """Frame URL -> the frame's stored clientMetadata, for every frame of the group."""
    return {
        child.url or child.name: dict(child.client_metadata or {})
        for child in group_frames(user_client, group_item_uuid)
    }


def patch_group_frames(
    user_client: EncordUserClient,
    group_item_uuid: str,
    frame_metadata: Mapping[str, Mapping[str, Any]],
    *,
    batch_size: int = PATCH_BATCH_LIMIT,
) -> PatchOutcome:
    """Per-frame metadata for the images of an image group (seed 003, "Add custom metadata to
    images in an image group"): list the group's child items and bulk-patch each frame, keyed by
    the frame's URL, merging like `patch_metadata`.

    `patched` and `unchanged` name frames by item uuid; `errors` is keyed by frame URL (the key
    the caller gave), for URLs that are not frames of the group and for refused patches. A URL
    that occurs twice in the group updates both frames. Read the result back with
    `read_group_frames`.
    """
    if not 1 <= batch_size <= PATCH_BATCH_LIMIT:
        raise ValueError(f"batch_size must be 1..{PATCH_BATCH_LIMIT}, got {batch_size}")
    children = group_frames(user_client, group_item_uuid)
    outcome = PatchOutcome()
    pending: list[tuple[StorageItem, dict[str, Any]]] = []
    for child in children:
        update = frame_metadata.get(child.url or "")
        if update is None:
            continue
        current = dict(child.client_metadata or {})
        merged = merge_metadata(current, update)
        if canonical_json(merged) == canonical_json(current):
            outcome.unchanged.append(str(child.uuid))
        else:
            pending.append((child, merged))
    found = {child.url for child in children}
    for url in frame_metadata:
        if url not in found:
            outcome.errors[url] = (
                f"{url} is not a frame of image group {group_item_uuid} "
                f"({len(children)} frames); check the URL against the group's objectUrl_N"
            )
    sent = PatchOutcome()
    for start in range(0, len(pending), batch_size):
        _patch_chunk(pending[start : start + batch_size], sent)
    outcome.patched.update(sent.patched)
    url_of = {str(child.uuid): child.url or str(child.uuid) for child, _ in pending}
    for item_uuid, message in sent.errors.items():
        outcome.errors[url_of.get(item_uuid, item_uuid)] = message
    return outcome
