"""Records -> the JSON the SDK parses (camelCase v2 models, snake_case legacy dicts)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import orjson
from starlette.responses import Response

from dagster_encord.emulator.records import DataRow, Dataset, Folder, Item, UploadJob
from dagster_encord.emulator.state import EmulatorState

OWNER = "user@example.com"
Signer = Callable[[str], str]  # object URL -> signed URL
MEDIA_FIELDS = (
    "fileSize",
    "mimeType",
    "duration",
    "fps",
    "height",
    "width",
    "dicomInstanceUid",
    "dicomStudyUid",
    "dicomSeriesUid",
    "frameCount",
    "audioSampleRate",
    "audioBitDepth",
    "audioCodec",
    "audioNumChannels",
)
# storage item type -> legacy DataRow / LabelRowMetadata data_type (upper) and label row (lower)
DATA_TYPES = {
    "image": "IMAGE",
    "video": "VIDEO",
    "imageGroup": "IMG_GROUP",
    "imageSequence": "VIDEO",
    "dicomSeries": "DICOM",
    "dicomFile": "DICOM",
    "audio": "AUDIO",
    "nifti": "NIFTI",
    "plainText": "PLAIN_TEXT",
    "pdf": "PDF",
}
LEGACY_STORAGE = {"encord": 0, "s3": 1, "gcp": 2, "azure": 3, "s3Compatible": 4}


class ApiError(Exception):
    """An error answer: v2 HTTP status + message; legacy envelope code + payload."""

    LEGACY_CODES = {
        400: "INVALID_ARGUMENTS_ERROR",
        401: "AUTHENTICATION_ERROR",
        403: "AUTHORISATION_ERROR",
        404: "RESOURCE_NOT_FOUND_ERROR",
        405: "METHOD_NOT_ALLOWED_ERROR",
        409: "RESOURCE_EXISTS_ERROR",
        429: "RATE_LIMIT_ERROR",
    }

    def __init__(self, status: int, message: str, legacy_code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self._legacy_code = legacy_code  # a code the status alone does not name

    @property
    def legacy_code(self) -> str:
        return self._legacy_code or self.LEGACY_CODES.get(self.status, "UNKNOWN_ERROR")


_Record = TypeVar("_Record")


def found_or_403(table: Mapping[str, _Record], key: str, what: str) -> _Record:
    """`table[key]`, or the 403 Encord answers for a `what` that is missing or not visible."""
    record = table.get(key)
    if record is None:
        raise ApiError(403, f"{what} {key} does not exist or you have no access to it")
    return record


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def folder_json(state: EmulatorState, folder: Folder) -> dict[str, Any]:
    path: list[dict[str, Any]] = []
    current = folder.parent
    while current is not None and current in state.folders:
        ancestor = state.folders[current]
        path.append(
            {
                "uuid": ancestor.uuid,
                "parentUuid": ancestor.parent,
                "name": ancestor.name,
                "syncedDatasetHash": ancestor.synced_dataset_hash,
            }
        )
        current = ancestor.parent
    return {
        "uuid": folder.uuid,
        "parent": folder.parent,
        "name": folder.name,
        "description": folder.description,
        "clientMetadata": None
        if folder.client_metadata is None
        else json.dumps(folder.client_metadata),
        "owner": OWNER,
        "createdAt": folder.created_at,
        "lastEditedAt": folder.last_edited_at,
        "userRole": "admin",
        "syncedDatasetHash": folder.synced_dataset_hash,
        "pathToRoot": list(reversed(path)),
        "folderType": folder.folder_type,
        "integrationHash": folder.integration_hash,
        "remoteUrl": folder.remote_url,
    }


def item_json(
    item: Item, signer: Signer | None = None, include_metadata: bool = True
) -> dict[str, Any]:
    """`signer` (when the request asks for signed URLs) turns the object URL into a signed one."""
    body: dict[str, Any] = {
        "uuid": item.uuid,
        "parent": item.parent,
        "itemType": item.item_type,
        "name": item.name,
        "clientMetadata": json.dumps(item.client_metadata) if include_metadata else "{}",
        "owner": OWNER,
        "createdAt": item.created_at,
        "lastEditedAt": item.last_edited_at,
        "backedDataUnitsCount": item.backed_data_units,
        "storageLocation": item.storage_location,
        "integrationHash": item.integration_hash,
        "url": item.url,
        "signedUrl": signer(item.url) if signer is not None and item.url is not None else None,
        "description": item.description,
        "isTombstone": False,
        "isPlaceholder": False,
    }
    media = item.media
    for name in MEDIA_FIELDS:
        body[name] = media.get(name)
    return body


def job_json(job: UploadJob) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": job.status,
        "itemsWithNames": job.items_with_names if job.status != "PENDING" else [],
        "errors": job.errors,
        "unitsPendingCount": job.pending,
        "unitsDoneCount": job.done,
        "unitsErrorCount": job.error,
        "unitsCancelledCount": job.cancelled,
        "unitErrors": job.unit_errors,
    }
    if job.file_name is not None:
        body["fileName"] = job.file_name
    return body


def legacy_time(iso: str) -> str:
    """ISO `...T...Z` -> the legacy `YYYY-MM-DD HH:MM:SS` form."""
    return iso.replace("T", " ").split(".")[0].rstrip("Z")


def data_row_json(
    state: EmulatorState, row: DataRow, client_metadata: bool = False, signer: Signer | None = None
) -> dict[str, Any]:
    item = state.items.get(row.item_uuid)
    media = item.media if item else {}
    body: dict[str, Any] = {
        "data_hash": row.data_hash,
        "data_title": item.name if item else "",
        "data_type": DATA_TYPES.get(item.item_type, "MISSING_DATA_TYPE") if item else "IMAGE",
        "created_at": legacy_time(row.created_at),
        "last_edited_at": legacy_time(row.last_edited_at),
        "width": media.get("width"),
        "height": media.get("height"),
        "file_link": (item.url if item else None) or "",
        "file_size": media.get("fileSize"),
        "file_type": media.get("mimeType"),
        "storage_location": LEGACY_STORAGE.get(item.storage_location, 1) if item else 1,
        "frames_per_second": media.get("fps"),
        "duration": media.get("duration"),
        "backing_item_uuid": row.item_uuid,
    }
    if client_metadata and item is not None:
        body["client_metadata"] = item.client_metadata
    if signer is not None and item is not None and item.url is not None:
        body["signed_url"] = signer(item.url)
    return body


def dataset_type(state: EmulatorState, dataset: Dataset) -> str:
    """Legacy storage name from the first row's storage location (AWS_S3 when empty)."""
    names = {0: "CORD_STORAGE", 1: "AWS_S3", 2: "GCP_STR", 3: "AZURE_STR", 4: "S3_COMPATIBLE_STR"}
    for data_hash in dataset.data_hashes[:1]:
        row = state.data_rows.get(data_hash)
        item = state.items.get(row.item_uuid) if row else None
        if item is not None:
            return names[LEGACY_STORAGE.get(item.storage_location, 1)]
    return "AWS_S3"
