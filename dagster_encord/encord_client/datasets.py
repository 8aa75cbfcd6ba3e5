"""Datasets through the SDK: find by exact title, create, link storage items, list, unlink rows,
and delete storage items. `EncordClient` gets these methods from `DatasetCalls`.

Every write takes at most `BATCH_LIMIT` uuids (Encord's bundle size; the caller batches, so it
can record each batch). A link is sent with `duplicates_behavior=SKIP`: sending it again after a
lost answer creates nothing, so it is retried here on 429 and server errors. An unlink or a
deletion is not (a retry of one that was applied fails on the rows it removed); the caller heals
those by listing the dataset.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dagster_encord.encord_client.calls import SdkCalls
from dagster_encord.encord_client.sdk_errors import translate_sdk_error
from dagster_encord.errors import EncordAmbiguousError, EncordError, EncordPermissionError

if TYPE_CHECKING:
    from encord.dataset import Dataset

BATCH_LIMIT = 1000  # uuids per link, unlink or delete request
LINK_ATTEMPTS = 3
_ADMIN_FIX = (
    "the key's user needs the admin role on the dataset: ask one of its admins to add the user "
    "as admin (Encord: Annotate > Datasets > the dataset > Settings, or dataset.add_users)"
)


@dataclass(frozen=True, slots=True)
class DatasetRef:
    """A dataset the key's user can see, with whether it may change it (admin role)."""

    dataset_hash: str
    title: str
    is_admin: bool


@dataclass(frozen=True, slots=True)
class DatasetRow:
    """A data row of a dataset and the storage item behind it."""

    data_hash: str
    item_uuid: str


def check_batch(what: str, uuids: Sequence[str]) -> None:
    if len(uuids) > BATCH_LIMIT:
        raise ValueError(f"{what}: {len(uuids)} uuids in one request; send at most {BATCH_LIMIT}")


class DatasetCalls(SdkCalls):
    """The dataset calls of `EncordClient` (which holds the SDK client and its caches)."""

    _sdk_datasets: dict[str, Dataset]

    def find_dataset(self, title: str) -> DatasetRef | None:
        """The dataset with exactly this title, None when the user sees none (one request)."""
        doing = f"looking up Encord dataset {title!r}"
        try:
            listed = self._user_client.get_datasets(title_eq=title)
        except Exception as error:
            raise translate_sdk_error(error, doing) from None
        from encord.orm.dataset import DatasetUserRole

        matches = [entry for entry in listed if entry["dataset"].title == title]
        if len(matches) > 1:
            hashes = ", ".join(str(entry["dataset"].dataset_hash) for entry in matches)
            raise EncordAmbiguousError(
                f"{doing}: {len(matches)} datasets have this title ({hashes}); rename or delete "
                "the extra ones in Encord (Annotate > Datasets) so the title names one dataset"
            )
        if not matches:
            return None
        found = matches[0]
        return DatasetRef(
            dataset_hash=str(found["dataset"].dataset_hash),
            title=title,
            is_admin=found["user_role"] == DatasetUserRole.ADMIN,
        )

    def create_dataset(self, title: str, description: str = "") -> DatasetRef:
        """A new dataset without a backing folder (the files stay in the pipeline's folder)."""
        from encord.orm.dataset import StorageLocation

        try:
            created = self._user_client.create_dataset(
                title, StorageLocation.AWS, description or None, create_backing_folder=False
            )
        except Exception as error:
            raise translate_sdk_error(error, f"creating Encord dataset {title!r}") from None
        return DatasetRef(dataset_hash=str(created.dataset_hash), title=title, is_admin=True)

    def _dataset(self, dataset_hash: str) -> Dataset:
        if dataset_hash not in self._sdk_datasets:
            try:
                self._sdk_datasets[dataset_hash] = self._user_client.get_dataset(
                    dataset_hash, include_data_rows=False
                )
            except Exception as error:
                raise translate_sdk_error(error, f"opening Encord dataset {dataset_hash}") from None
        return self._sdk_datasets[dataset_hash]

    def link_items(self, dataset_hash: str, item_uuids: Sequence[str]) -> list[DatasetRow]:
        """Link storage items; returns the rows created. Items already in the dataset are skipped
        (and not returned): `dataset_rows` finds their rows."""
        from encord.exceptions import (
            AuthenticationError,
            AuthorisationError,
            InvalidArgumentsError,
            ResourceNotFoundError,
        )
        from encord.orm.dataset import DataLinkDuplicatesBehavior

        doing = f"linking {len(item_uuids)} items to Encord dataset {dataset_hash}"
        check_batch(doing, item_uuids)
        if not item_uuids:
            return []
        dataset = self._dataset(dataset_hash)
        uuids = [uuid.UUID(item_uuid) for item_uuid in item_uuids]
        for attempt in range(1, LINK_ATTEMPTS + 1):
            try:
                rows = dataset.link_items(uuids, DataLinkDuplicatesBehavior.SKIP)
                return [DatasetRow(str(row.uid), str(row.backing_item_uuid)) for row in rows]
            except AuthorisationError as error:
                raise EncordPermissionError(
                    f"{doing}: Encord refused ({error}); {_ADMIN_FIX}, and that it can see the "
                    "pipeline's folder"
                ) from None
            except (AuthenticationError, ResourceNotFoundError, InvalidArgumentsError) as error:
                raise translate_sdk_error(error, doing) from None
            except Exception as error:
                if attempt == LINK_ATTEMPTS:
                    raise translate_sdk_error(error, doing) from None
                time.sleep(_retry_after(error, attempt))
        raise AssertionError("unreachable")

    def dataset_rows(self, dataset_hash: str) -> list[DatasetRow]:
        """Every data row of the dataset with its storage item (one request)."""
        dataset = self._dataset(dataset_hash)
        try:
            rows = dataset.list_data_rows()
            return [DatasetRow(str(row.uid), str(row.backing_item_uuid)) for row in rows]
        except Exception as error:
            raise translate_sdk_error(error, f"listing Encord dataset {dataset_hash}") from None

    def unlink_data(self, dataset_hash: str, data_hashes: Sequence[str]) -> None:
        """Remove data rows from the dataset (their storage items stay)."""
        from encord.exceptions import AuthorisationError

        doing = f"removing {len(data_hashes)} data rows from Encord dataset {dataset_hash}"
        check_batch(doing, data_hashes)
        if not data_hashes:
            return
        dataset = self._dataset(dataset_hash)
        try:
            dataset.delete_data(list(data_hashes))
        except AuthorisationError as error:
            raise EncordPermissionError(
                f"{doing}: Encord refused ({error}); {_ADMIN_FIX}"
            ) from None
        except Exception as error:
            raise translate_sdk_error(error, doing) from None

    def delete_items(self, folder: str, item_uuids: Sequence[str]) -> None:
        """Delete storage items of `folder` (with frames no other item uses)."""
        doing = f"deleting {len(item_uuids)} storage items"
        check_batch(doing, item_uuids)
        if not item_uuids:
            return
        target = self._folder(folder)
        try:
            target.delete_storage_items([uuid.UUID(u) for u in item_uuids])
        except EncordError:
            raise
        except Exception as error:
            raise translate_sdk_error(error, f"{doing} in folder {target.name!r}") from None


def _retry_after(error: Exception, attempt: int) -> float:
    from encord.exceptions import RateLimitExceededError

    if isinstance(error, RateLimitExceededError) and error.retry_after:
        return float(error.retry_after)
    return 1.5 * attempt
