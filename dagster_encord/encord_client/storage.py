"""Storage items through the SDK: folder listings, bulk reads, bulk clientMetadata patches and the
frames of group items. `EncordClient` gets these methods from `StorageCalls`.

Encord answers a bulk read or patch all or nothing: one missing uuid or one refused value fails
the whole request. Such a request is split in halves until the item at fault stands alone, so it
costs a few requests and becomes a per-item error while the rest proceed. The SDK never retries a
PATCH, so transient patch failures (429, 5xx) are retried here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dagster_encord.encord_client.calls import SdkCalls
from dagster_encord.encord_client.sdk_errors import translate_sdk_error

if TYPE_CHECKING:
    from encord.storage import StorageItem

READ_BATCH_SIZE = 5000  # uuids per bulk read request
PATCH_BATCH_LIMIT = 1000  # Encord's bundle limit for storage item patches
PATCH_ATTEMPTS = 3


def check_patch_batch_size(batch_size: int) -> None:
    """Raise ValueError unless 1 <= batch_size <= Encord's bundle limit."""
    if not 1 <= batch_size <= PATCH_BATCH_LIMIT:
        raise ValueError(f"batch_size must be 1..{PATCH_BATCH_LIMIT}, got {batch_size}")


@dataclass(frozen=True, slots=True)
class FolderItem:
    item_uuid: str
    name: str
    url: str | None


@dataclass(frozen=True, slots=True)
class StoredItem:
    """A storage item as read from Encord, with its clientMetadata (`{}` when it has none).

    `url` is None for a group item (image group, sequence, DICOM series). Hand the item back to
    `patch_items_metadata` to change its metadata without reading it again.
    """

    item_uuid: str
    name: str
    url: str | None
    client_metadata: Mapping[str, Any]
    _sdk_item: Any = field(default=None, repr=False, compare=False)


@dataclass
class ItemsRead:
    """Items found, by uuid, and per-item errors for uuids that could not be read."""

    items: dict[str, StoredItem] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class PatchResult:
    """Per item uuid: the metadata now stored (patched), or why the patch failed."""

    patched: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _sdk_storage_item(item: StoredItem) -> StorageItem:
    if item._sdk_item is None:
        raise ValueError(
            f"storage item {item.item_uuid} was not read by an EncordClient; read it with "
            "get_items, get_item or child_items first"
        )
    return item._sdk_item


def _stored(item: StorageItem) -> StoredItem:
    return StoredItem(
        item_uuid=str(item.uuid),
        name=item.name,
        url=item.url,
        client_metadata=dict(item.client_metadata or {}),
        _sdk_item=item,
    )


class StorageCalls(SdkCalls):
    """The storage-item calls of `EncordClient` (which holds the SDK client and the folders)."""

    # --- folders -------------------------------------------------------------------------------

    def iter_folder_items(self, folder: str, page_size: int = 1000) -> Iterator[FolderItem]:
        """Every item directly in the folder (url is None for grouped items)."""
        target = self._folder(folder)
        try:
            for item in target.list_items(include_client_metadata=False, page_size=page_size):
                yield FolderItem(item_uuid=str(item.uuid), name=item.name, url=item.url)
        except Exception as error:
            raise translate_sdk_error(error, f"listing folder {target.name!r}") from None

    def iter_folder_items_with_metadata(
        self, folder: str, page_size: int = 1000
    ) -> Iterator[StoredItem]:
        """Every item directly in the folder with its clientMetadata, one request per page."""
        target = self._folder(folder)
        try:
            for item in target.list_items(include_client_metadata=True, page_size=page_size):
                yield _stored(item)
        except Exception as error:
            raise translate_sdk_error(error, f"listing metadata in folder {folder!r}") from None

    # --- reading items -------------------------------------------------------------------------

    def item_urls(self, item_uuids: list[str]) -> dict[str, str | None]:
        """item uuid -> object URL (None for grouped items), in one bulk request."""
        if not item_uuids:
            return {}
        try:
            items = self._user_client.get_storage_items(item_uuids)
        except Exception as error:
            raise translate_sdk_error(error, f"reading {len(item_uuids)} storage items") from None
        return {str(item.uuid): item.url for item in items}

    def get_item(self, item_uuid: str) -> StoredItem:
        """One storage item (one request)."""
        try:
            return _stored(self._user_client.get_storage_item(item_uuid))
        except Exception as error:
            raise translate_sdk_error(error, f"reading storage item {item_uuid}") from None

    def get_items(
        self, item_uuids: Sequence[str], *, batch_size: int = READ_BATCH_SIZE
    ) -> ItemsRead:
        """Storage items by uuid in bulk (one request per `batch_size`); missing, invisible or
        malformed uuids become per-item errors."""
        result = ItemsRead()
        for start in range(0, len(item_uuids), batch_size):
            self._get_batch(list(item_uuids[start : start + batch_size]), result)
        return result

    def _get_batch(self, batch: list[str], into: ItemsRead) -> None:
        from encord.exceptions import AuthorisationError, ResourceNotFoundError

        if not batch:
            return
        try:
            items = self._user_client.get_storage_items(batch)
        except (AuthorisationError, ResourceNotFoundError):
            # Encord refuses the whole batch when one uuid is missing: bisect to find it.
            if len(batch) == 1:
                into.errors[batch[0]] = "item not found in Encord, or not visible to this user"
                return
            middle = len(batch) // 2
            self._get_batch(batch[:middle], into)
            self._get_batch(batch[middle:], into)
            return
        except ValueError:
            # A malformed uuid fails client-side; find and report it alone.
            if len(batch) == 1:
                into.errors[batch[0]] = "not a valid item uuid"
                return
            middle = len(batch) // 2
            self._get_batch(batch[:middle], into)
            self._get_batch(batch[middle:], into)
            return
        except Exception as error:
            raise translate_sdk_error(error, f"reading {len(batch)} storage items") from None
        for item in items:
            into.items[str(item.uuid)] = _stored(item)

    # --- group items ---------------------------------------------------------------------------

    def child_items(self, group: StoredItem) -> list[StoredItem]:
        """The frames (child items) of a group item, in frame order (one request; none for an
        item that is not a group)."""
        sdk_group = _sdk_storage_item(group)
        try:
            children = sdk_group.get_child_items()
            return [_stored(child) for child in children]
        except Exception as error:
            raise translate_sdk_error(
                error, f"listing the frames of image group {group.item_uuid}"
            ) from None

    def group_frames(self, group_item_uuid: str) -> list[StoredItem]:
        """The frames of an image group, image sequence or DICOM series given by uuid, in frame
        order: two requests (the group, then its child items)."""
        try:
            group = self._user_client.get_storage_item(group_item_uuid)
            return [_stored(child) for child in group.get_child_items()]
        except Exception as error:
            raise translate_sdk_error(
                error, f"listing the frames of image group {group_item_uuid}"
            ) from None

    # --- patching metadata ---------------------------------------------------------------------

    def patch_items_metadata(
        self,
        changes: Sequence[tuple[StoredItem, Mapping[str, Any]]],
        *,
        batch_size: int = PATCH_BATCH_LIMIT,
    ) -> PatchResult:
        """Set each item's clientMetadata to the given object, `batch_size` items per bulk patch.

        The items are those read by this client (`get_items`, `child_items`, ...). What is sent
        replaces the item's metadata; merging is the caller's choice.
        """
        check_patch_batch_size(batch_size)
        result = PatchResult()
        pending = [(item, dict(metadata)) for item, metadata in changes]
        for item, _ in pending:
            _sdk_storage_item(item)  # fail before any request, not inside the retry loop
        for start in range(0, len(pending), batch_size):
            self._patch_chunk(pending[start : start + batch_size], result)
        return result

    def _patch_chunk(
        self, chunk: list[tuple[StoredItem, dict[str, Any]]], into: PatchResult, attempt: int = 1
    ) -> None:
        """One bulk patch request. A refused chunk is split in halves until the refused item
        stands alone; a 429 or a server error is retried as is."""
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
                for item, metadata in chunk:
                    _sdk_storage_item(item).update(client_metadata=metadata, bundle=bundle)
        except refused as error:
            if len(chunk) > 1:
                middle = len(chunk) // 2
                self._patch_chunk(chunk[:middle], into)
                self._patch_chunk(chunk[middle:], into)
                return
            item = chunk[0][0]
            failure = translate_sdk_error(error, f"patching the metadata of item {item.item_uuid}")
            into.errors[item.item_uuid] = str(failure)
            return
        except Exception as error:
            if attempt < PATCH_ATTEMPTS:
                wait = error.retry_after if isinstance(error, RateLimitExceededError) else None
                time.sleep(float(wait) if wait is not None else 1.5 * attempt)
                self._patch_chunk(chunk, into, attempt + 1)
                return
            failure = translate_sdk_error(error, f"patching the metadata of {len(chunk)} items")
            for item, _ in chunk:
                into.errors[item.item_uuid] = str(failure)
            return
        for item, metadata in chunk:
            into.patched[item.item_uuid] = metadata
