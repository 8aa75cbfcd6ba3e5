"""Parse an upload job's body (`externalFiles` JSON or SDK `dataItems`) into units, with limits.

A unit is one storage item to create: a dict {entry, itemType, title, urls, clientMetadata, media}.
Group units (`imageGroups` entries in `dataItems`) may add `frames`: per-frame {title, media}.
`imageGroupsFromItems` units carry `fromItems` (image item uuids) and no URLs until the job route
resolves them against the stored items (`groups.resolve_from_items`).
Bad input raises `ApiError(400)` naming the offending entry, e.g. `images[3].objectUrl`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

from dagster_encord.emulator.wire import ApiError

MAX_URLS = 1_000_000
MAX_ITEMS = 500_000
MAX_URL_BYTES = 16 * 1024
MAX_METADATA_BYTES = 10 * 1024 * 1024

# media metadata key (snake or camel case) -> (StorageItem field, expected JSON type)
_NUM = (int, float)
MEDIA_KEYS: dict[str, tuple[str, type | tuple[type, ...]]] = {
    "fps": ("fps", _NUM),
    "duration": ("duration", _NUM),
    "duration_seconds": ("duration", _NUM),
    "width": ("width", int),
    "height": ("height", int),
    "file_size": ("fileSize", int),
    "fileSize": ("fileSize", int),
    "mime_type": ("mimeType", str),
    "mimeType": ("mimeType", str),
    "sample_rate": ("audioSampleRate", int),
    "sampleRate": ("audioSampleRate", int),
    "bit_depth": ("audioBitDepth", int),
    "bitDepth": ("audioBitDepth", int),
    "codec": ("audioCodec", str),
    "num_channels": ("audioNumChannels", int),
    "numChannels": ("audioNumChannels", int),
    "num_pages": ("frameCount", int),
    "numPages": ("frameCount", int),
}


@dataclass(frozen=True)
class SingleKind:
    item_type: str
    media_key: str | None


# top-level key -> kind, for both formats (externalFiles is documented, dataItems is the SDK's)
SINGLE_KINDS = {
    "videos": SingleKind("video", "videoMetadata"),
    "images": SingleKind("image", "imageMetadata"),
    "audio": SingleKind("audio", "audioMetadata"),
    "nifti": SingleKind("nifti", None),
    "text": SingleKind("plainText", "textMetadata"),
    "pdfs": SingleKind("pdf", "pdfMetadata"),
    "pdf": SingleKind("pdf", "pdfMetadata"),
}
SINGLE_ENTRY_KEYS = {"objectUrl", "title", "clientMetadata", "createVideo", "externalFileType"}
SKIP_FLAGS = ("skip_duplicate_urls", "skipDuplicateUrls")
UPSERT_FLAGS = ("upsert_metadata", "upsertMetadata")
UNSUPPORTED_DATA_ITEMS = ("timeSeries", "scenes")
FROM_ITEMS_KEY = "imageGroupsFromItems"
FRAME_KEYS = {"url", "title", "imageMetadata", "placeholderItemUuid"}
_NUMBERED_URL = re.compile(r"^objectUrl_(\d+)$")


@dataclass
class ParsedJob:
    units: list[dict[str, Any]]
    skip_duplicates: bool
    upsert_metadata: bool


def default_title(url: str) -> str:
    """Encord's documented default: the object's path (e.g. `/path/to/video23.mp4`)."""
    path = unquote(urlparse(url).path)
    return path or url


def parse_job_body(body: Any) -> ParsedJob:
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object with externalFiles or dataItems")
    allowed = {"externalFiles", "dataItems", "integrationHash", "ignoreErrors", "fileName"}
    _reject_unknown(body, allowed, "request body")
    if ("externalFiles" in body) == ("dataItems" in body):
        raise ApiError(400, "give exactly one of externalFiles (the upload JSON) or dataItems")
    if "ignoreErrors" in body and not isinstance(body["ignoreErrors"], bool):
        raise ApiError(400, "ignoreErrors must be a boolean")
    if "externalFiles" in body:
        return _parse(body["externalFiles"], "externalFiles", external=True)
    return _parse(body["dataItems"], "dataItems", external=False)


def _parse(spec: Any, where: str, external: bool) -> ParsedJob:
    if not isinstance(spec, dict):
        raise ApiError(
            400, f"{where} must be a JSON object keyed by data type (images, videos, ...)"
        )
    group_keys = (
        {"image_groups", "dicom_series"}
        if external
        else {"imageGroups", "dicomSeries", FROM_ITEMS_KEY}
    )
    flags = set(SKIP_FLAGS + UPSERT_FLAGS)
    extra = set() if external else set(UNSUPPORTED_DATA_ITEMS)
    _reject_unknown(spec, set(SINGLE_KINDS) | group_keys | flags | extra, where)
    for key in extra:
        if spec.get(key):
            raise ApiError(
                400, f"{where}.{key}: not supported by the emulator; register URLs instead"
            )
    skip = _flag(spec, SKIP_FLAGS, where)
    upsert = _flag(spec, UPSERT_FLAGS, where)
    units: list[dict[str, Any]] = []
    url_count = 0
    for key, entries in spec.items():
        if key in flags or key in extra:
            continue
        if not isinstance(entries, list):
            raise ApiError(400, f"{where}.{key} must be a list of entries")
        parse_entry: Callable[[Any, str, str], dict[str, Any]]
        if key in SINGLE_KINDS:
            parse_entry = _single_entry
        elif key == FROM_ITEMS_KEY:
            parse_entry = _from_items_entry
        elif external:
            parse_entry = _numbered_group_entry
        else:
            parse_entry = _listed_group_entry
        for index, entry in enumerate(entries):
            unit = parse_entry(entry, key, f"{where}.{key}[{index}]")
            url_count += len(unit.get("fromItems") or unit["urls"])
            units.append(unit)
            if len(units) > MAX_ITEMS:
                raise ApiError(
                    400, f"{where}: more than {MAX_ITEMS:,} items in one job; split the upload"
                )
            if url_count > MAX_URLS:
                raise ApiError(
                    400, f"{where}: more than {MAX_URLS:,} URLs in one job; split the upload"
                )
    return ParsedJob(units=units, skip_duplicates=skip, upsert_metadata=upsert)


def _single_entry(entry: Any, key: str, where: str) -> dict[str, Any]:
    kind = SINGLE_KINDS[key]
    if not isinstance(entry, dict):
        raise ApiError(400, f"{where} must be an object with objectUrl")
    media_keys = {kind.media_key} if kind.media_key else set()
    _reject_unknown(entry, SINGLE_ENTRY_KEYS | media_keys | {"placeholderItemUuid"}, where)
    url = _url(entry.get("objectUrl"), f"{where}.objectUrl")
    if "createVideo" in entry and not isinstance(entry["createVideo"], bool):
        raise ApiError(400, f"{where}.createVideo must be a boolean")
    media = _media(entry.get(kind.media_key), f"{where}.{kind.media_key}") if kind.media_key else {}
    return _unit(entry, where, kind.item_type, [url], media)


def _numbered_group_entry(entry: Any, key: str, where: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise ApiError(
            400, f"{where} must be an object with title and objectUrl_0, objectUrl_1, ..."
        )
    numbered: list[tuple[int, str]] = []
    for name, value in entry.items():
        match = _NUMBERED_URL.match(name)
        if match:
            numbered.append((int(match.group(1)), _url(value, f"{where}.{name}")))
        elif name not in {"title", "clientMetadata", "createVideo"}:
            raise ApiError(
                400,
                f"{where}: unknown key '{name}' (expected title, createVideo, "
                "clientMetadata, objectUrl_0, objectUrl_1, ...)",
            )
    if not numbered:
        raise ApiError(400, f"{where}: no objectUrl_0; a group needs at least one object URL")
    urls = [url for _, url in sorted(numbered)]
    return _group_unit(entry, key, where, urls)


def _listed_group_entry(entry: Any, key: str, where: str) -> dict[str, Any]:
    files_key = "images" if key == "imageGroups" else "dicomFiles"
    if not isinstance(entry, dict):
        raise ApiError(400, f"{where} must be an object with {files_key}")
    _reject_unknown(
        entry, {files_key, "title", "clientMetadata", "createVideo", "externalFileType"}, where
    )
    files = entry.get(files_key)
    if not isinstance(files, list) or not files:
        raise ApiError(400, f"{where}.{files_key} must be a non-empty list")
    urls = []
    frames: list[dict[str, Any]] = []
    for index, file in enumerate(files):
        file_where = f"{where}.{files_key}[{index}]"
        if not isinstance(file, dict):
            raise ApiError(400, f"{file_where} must be an object with url")
        if files_key == "images":
            _reject_unknown(file, FRAME_KEYS, file_where)
        urls.append(_url(file.get("url"), f"{file_where}.url"))
        title = file.get("title")
        if title is not None and not isinstance(title, str):
            raise ApiError(400, f"{file_where}.title must be a string")
        media = _media(file.get("imageMetadata"), f"{file_where}.imageMetadata")
        frames.append({"title": title, "media": media})
    unit = _group_unit(entry, key, where, urls)
    unit["frames"] = frames
    return unit


def _from_items_entry(entry: Any, key: str, where: str) -> dict[str, Any]:
    """An image group (or sequence, with createVideo) made of image items already in Encord."""
    if not isinstance(entry, dict):
        raise ApiError(400, f"{where} must be an object with imageItems")
    allowed = {"imageItems", "title", "clientMetadata", "createVideo", "videoUrlPrefix"}
    _reject_unknown(entry, allowed | {"externalFileType"}, where)
    item_uuids = entry.get("imageItems")
    if (
        not isinstance(item_uuids, list)
        or not item_uuids
        or not all(isinstance(u, str) and u for u in item_uuids)
    ):
        raise ApiError(400, f"{where}.imageItems must be a non-empty list of image item uuids")
    unit = _group_unit(entry, key, where, [])
    unit["fromItems"] = list(item_uuids)
    return unit


def _group_unit(entry: dict[str, Any], key: str, where: str, urls: list[str]) -> dict[str, Any]:
    create_video = entry.get("createVideo", False)
    if not isinstance(create_video, bool):
        raise ApiError(400, f"{where}.createVideo must be a boolean")
    if key in ("dicom_series", "dicomSeries"):
        item_type = "dicomSeries"
    else:
        item_type = "imageSequence" if create_video else "imageGroup"
    media = {"frameCount": len(urls)}
    return _unit(entry, where, item_type, urls, media)  # from items: URLs filled in later


def _unit(
    entry: dict[str, Any], where: str, item_type: str, urls: list[str], media: dict[str, Any]
) -> dict[str, Any]:
    title = entry.get("title")
    if title is not None and not isinstance(title, str):
        raise ApiError(400, f"{where}.title must be a string")
    metadata = entry.get("clientMetadata", {})
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise ApiError(400, f"{where}.clientMetadata must be a JSON object")
    check_metadata_size(metadata, where)
    return {
        "entry": where,
        "itemType": item_type,
        "title": title or (default_title(urls[0]) if urls else ""),
        "urls": urls,
        "clientMetadata": metadata,
        "media": media,
    }


def check_metadata_size(metadata: dict[str, Any], where: str) -> None:
    # Cheap bound first: flat metadata of short scalars cannot reach 10 MB, so skip the dump.
    if len(metadata) < 64 and all(
        len(k) < 1024 and (_is_scalar(v) or (isinstance(v, str) and len(v) < 1024))
        for k, v in metadata.items()
    ):
        return
    size = len(json.dumps(metadata).encode())
    if size > MAX_METADATA_BYTES:
        raise ApiError(
            400,
            f"{where}.clientMetadata is {size:,} bytes; Encord allows 10 MB of custom metadata per "
            "item. Move large values (embeddings, transcripts) out or trim them.",
        )


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float))


def _url(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ApiError(400, f"{where} must be a non-empty string (the object URL)")
    if len(value) * 4 > MAX_URL_BYTES and len(value.encode()) > MAX_URL_BYTES:  # cheap bound first
        raise ApiError(
            400,
            f"{where} is {len(value.encode()):,} bytes; Encord allows URLs up to 16 KB;"
            " shorten the object key",
        )
    return value


def _media(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ApiError(400, f"{where} must be a JSON object")
    media: dict[str, Any] = {}
    for name, field_value in value.items():
        known = MEDIA_KEYS.get(name)
        if known is None:
            raise ApiError(400, f"{where}: unknown key '{name}'")
        target, expected = known
        if isinstance(field_value, bool) or not isinstance(field_value, expected):
            raise ApiError(400, f"{where}.{name} has the wrong type ({type(field_value).__name__})")
        media[target] = field_value
    return media


def _flag(spec: dict[str, Any], names: tuple[str, ...], where: str) -> bool:
    for name in names:
        if name in spec:
            if not isinstance(spec[name], bool):
                raise ApiError(400, f"{where}.{name} must be true or false")
            return bool(spec[name])
    return False


def _reject_unknown(body: dict[str, Any], allowed: set[str], where: str) -> None:
    for name in body:
        if name not in allowed:
            raise ApiError(
                400, f"{where}: unknown key '{name}' (allowed: {', '.join(sorted(allowed))})"
            )
