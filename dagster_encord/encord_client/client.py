"""A thin wrapper over the `encord` SDK for registering cloud files (no Dagster here).

It starts upload jobs (always with ignore-errors, so one bad file never sinks its chunk), polls
them without blocking (`timeout_seconds=0`, 429 caught and reported instead of raised), cancels
them, and resolves folders and integrations given by uuid or by title; storage.py and
metadata_schema.py add the item and schema calls. SDK exceptions become the package's own errors
(`translate_sdk_error`); the key or token never appears in them or in this object's repr.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dagster_encord.encord_client.datasets import DatasetCalls
from dagster_encord.encord_client.jobs import (
    JobState,
    RegisteredItem,
    UnitFailure,
    classify_unit_error,
)
from dagster_encord.encord_client.labels import LabelCalls
from dagster_encord.encord_client.metadata_schema import MetadataSchemaCalls
from dagster_encord.encord_client.ontologies import OntologyCalls
from dagster_encord.encord_client.projects import ProjectCalls
from dagster_encord.encord_client.sdk_errors import translate_sdk_error
from dagster_encord.encord_client.storage import StorageCalls
from dagster_encord.errors import EncordAuthError, EncordError, EncordNotFoundError

if TYPE_CHECKING:
    from encord.dataset import Dataset
    from encord.storage import StorageFolder
    from encord.user_client import EncordUserClient

DEFAULT_DOMAIN = "https://api.encord.com"


@dataclass(frozen=True, slots=True)
class RequestSettings:
    """Per-request settings handed to the SDK (`encord.http.constants.RequestsSettings`).

    `max_retries` applies to the SDK's own retries of idempotent calls (GET polls included); keep
    it low where a caller has a time budget, since a 429 with `Retry-After` is slept through.
    """

    max_retries: int = 3
    backoff_factor: float = 1.5
    connection_retries: int = 3
    connect_timeout: int = 30
    read_timeout: int = 120
    write_timeout: int = 120


@dataclass(frozen=True, slots=True)
class FolderRef:
    folder_uuid: str
    name: str


@dataclass(frozen=True, slots=True)
class IntegrationRef:
    integration_uuid: str
    title: str


def is_uuid(value: str) -> bool:
    """True when `value` is a uuid (a folder or integration given by id, not by title)."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class EncordClient(
    StorageCalls, MetadataSchemaCalls, DatasetCalls, OntologyCalls, ProjectCalls, LabelCalls
):
    """The Encord calls the package makes, against one domain with one set of credentials.

    Build it with `from_ssh_key` or `from_bearer_token`; the credential is handed to the SDK and not
    kept on this object. Storage-item calls (bulk reads and patches, group frames, folder listings)
    come from `StorageCalls` (storage.py), metadata-schema calls from `MetadataSchemaCalls`
    (metadata_schema.py), dataset calls from `DatasetCalls` (datasets.py), ontologies from
    `OntologyCalls` (ontologies.py), projects from `ProjectCalls` (projects.py). The SDK client
    stays private: callers use these methods.
    """

    def __init__(self, user_client: EncordUserClient, domain: str) -> None:
        self._user_client = user_client
        self.domain = domain
        self._folders: dict[str, StorageFolder] = {}
        self._sdk_projects: dict[str, Any] = {}
        self._sdk_datasets: dict[str, Dataset] = {}

    def __repr__(self) -> str:
        return f"EncordClient(domain={self.domain!r})"

    # --- construction ---------------------------------------------------------------------------

    @classmethod
    def from_ssh_key(
        cls,
        ssh_private_key: str,
        *,
        domain: str = DEFAULT_DOMAIN,
        settings: RequestSettings | None = None,
    ) -> EncordClient:
        from encord.user_client import EncordUserClient

        try:
            user_client = EncordUserClient.create_with_ssh_private_key(
                ssh_private_key,
                requests_settings=_sdk_settings(settings or RequestSettings()),
                domain=domain,
            )
        except Exception as error:
            # The SDK's key-parsing errors may quote the key; never pass them on.
            raise EncordAuthError(
                f"the SSH private key for {domain} could not be loaded "
                f"({type(error).__name__}); pass an unencrypted ed25519 key in OpenSSH PEM format"
            ) from None
        return cls(user_client, domain)

    @classmethod
    def from_bearer_token(
        cls,
        bearer_token: str,
        *,
        domain: str = DEFAULT_DOMAIN,
        settings: RequestSettings | None = None,
    ) -> EncordClient:
        from encord.user_client import EncordUserClient

        user_client = EncordUserClient.create_with_bearer_token(
            bearer_token,
            requests_settings=_sdk_settings(settings or RequestSettings()),
            domain=domain,
        )
        return cls(user_client, domain)

    # --- folders and integrations --------------------------------------------------------------

    def resolve_folder(self, folder: str) -> FolderRef:
        """A folder given by uuid or by exact title (searched recursively from the top level)."""
        found = self._folder(folder)
        return FolderRef(folder_uuid=str(found.uuid), name=found.name)

    def _folder(self, folder: str) -> StorageFolder:
        if folder in self._folders:
            return self._folders[folder]
        doing = f"resolving Encord folder {folder!r}"
        try:
            if is_uuid(folder):
                found = self._user_client.get_storage_folder(folder)
            else:
                matches = [
                    candidate
                    for candidate in self._user_client.find_storage_folders(
                        search=folder, page_size=1000
                    )
                    if candidate.name == folder
                ]
                if not matches:
                    raise EncordNotFoundError(
                        f"{doing}: no folder has this title; create it in Encord "
                        "(Index > Files > New folder) or pass its uuid"
                    )
                if len(matches) > 1:
                    uuids = ", ".join(str(match.uuid) for match in matches)
                    raise EncordNotFoundError(
                        f"{doing}: {len(matches)} folders have this title ({uuids}); pass the uuid"
                    )
                found = matches[0]
        except EncordError:
            raise
        except Exception as error:
            raise translate_sdk_error(error, doing) from None
        self._folders[folder] = found
        self._folders[str(found.uuid)] = found
        return found

    def resolve_integration(self, integration: str) -> IntegrationRef:
        """A cloud integration given by uuid or by exact title."""
        doing = f"resolving Encord cloud integration {integration!r}"
        try:
            if is_uuid(integration):
                found = self._user_client.get_cloud_integrations(
                    filter_integration_uuids=[integration]
                )
            else:
                found = self._user_client.get_cloud_integrations(
                    filter_integration_titles=[integration]
                )
        except Exception as error:
            raise translate_sdk_error(error, doing) from None
        if not found:
            raise EncordNotFoundError(
                f"{doing}: no integration with this uuid or title is visible to this user; "
                "create it under Integrations in Encord or pass another one"
            )
        if len(found) > 1:
            uuids = ", ".join(item.id for item in found)
            raise EncordNotFoundError(
                f"{doing}: {len(found)} integrations match ({uuids}); pass the uuid"
            )
        return IntegrationRef(integration_uuid=found[0].id, title=found[0].title)

    # --- upload jobs ---------------------------------------------------------------------------

    def start_upload_job(
        self, folder: str, integration_uuid: str, manifest: Mapping[str, Any]
    ) -> str:
        """POST one registration manifest; return the upload job id.

        Always `ignore_errors=True` (failed units are reported, the rest registered) and
        `skip_duplicate_urls: true`, so resubmitting a chunk whose first POST outcome is unknown
        creates no duplicates. The SDK never retries this POST; healing is the caller's job.
        """
        target = self._folder(folder)
        body = dict(manifest)
        body["skip_duplicate_urls"] = True
        try:
            job_id = target.add_private_data_to_folder_start(
                integration_uuid, body, ignore_errors=True
            )
        except Exception as error:
            raise translate_sdk_error(
                error, f"starting an upload job in folder {target.name!r}"
            ) from None
        return str(job_id)

    def poll_upload_job(self, folder: str, upload_job_id: str) -> JobState:
        """One non-blocking poll. A 429 becomes a PENDING state with `rate_limited` set.

        The SDK's poll loop retries only connection/JSON errors, so a 429 would abort it; here it
        is caught and reported, and the caller simply polls again later.
        """
        from encord.exceptions import RateLimitExceededError

        target = self._folder(folder)
        try:
            result = target.add_private_data_to_folder_get_result(
                uuid.UUID(upload_job_id), timeout_seconds=0
            )
        except RateLimitExceededError as error:
            return JobState(
                upload_job_id=upload_job_id,
                status="PENDING",
                rate_limited=True,
                retry_after=float(error.retry_after) if error.retry_after else None,
            )
        except Exception as error:
            raise translate_sdk_error(error, f"polling upload job {upload_job_id}") from None
        return JobState(
            upload_job_id=upload_job_id,
            status=result.status.value,
            items=tuple(
                RegisteredItem(item_uuid=str(item.item_uuid), name=item.name)
                for item in result.items_with_names
            ),
            failures=tuple(
                UnitFailure(
                    object_urls=tuple(unit.object_urls),
                    error=unit.error,
                    kind=classify_unit_error(unit.error),
                )
                for unit in result.unit_errors
            ),
            errors=tuple(result.errors),
            units_pending=result.units_pending_count,
            units_done=result.units_done_count,
            units_error=result.units_error_count,
            units_cancelled=result.units_cancelled_count,
        )

    def cancel_upload_job(self, folder: str, upload_job_id: str) -> int:
        """Cancel a running job; return how many units were cancelled."""
        target = self._folder(folder)
        try:
            response = target.add_data_to_folder_job_cancel(uuid.UUID(upload_job_id))
        except Exception as error:
            raise translate_sdk_error(error, f"cancelling upload job {upload_job_id}") from None
        return int(response.units_cancelled_count)


def _sdk_settings(settings: RequestSettings) -> Any:
    from encord.http.constants import RequestsSettings

    return RequestsSettings(
        max_retries=settings.max_retries,
        backoff_factor=settings.backoff_factor,
        connection_retries=settings.connection_retries,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        write_timeout=settings.write_timeout,
    )
