"""Classification: which Encord data type each object record is, or why it is skipped.

A record's data type comes first from its file extension (longest matching suffix, so `.nii.gz`
beats `.gz`), then from its content type (exact MIME type, then the `image/`, `video/`, … family).
Both maps are configurable (`PlannerConfig.extensions`, `PlannerConfig.content_types`). A record
that matches neither is never dropped silently: it becomes a `SkippedFile` with a reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from dagster_encord.sources.base import ObjectRecord


class DataType(StrEnum):
    """The file-level data types Encord can register."""

    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    TEXT = "text"
    PDF = "pdf"
    NIFTI = "nifti"
    DICOM = "dicom"


DEFAULT_EXTENSIONS: dict[str, DataType] = {
    **dict.fromkeys(
        (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".avif", ".heic"),
        DataType.IMAGE,
    ),
    **dict.fromkeys((".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpeg"), DataType.VIDEO),
    **dict.fromkeys((".mp3", ".wav", ".flac", ".ogg", ".m4a", ".aac", ".eac3"), DataType.AUDIO),
    **dict.fromkeys(
        (".txt", ".html", ".htm", ".md", ".xml", ".json", ".csv", ".tsv"), DataType.TEXT
    ),
    ".pdf": DataType.PDF,
    **dict.fromkeys((".nii", ".nii.gz"), DataType.NIFTI),
    **dict.fromkeys((".dcm", ".dicom"), DataType.DICOM),
}

# Exact MIME types first; families (`image/`) are the fallback for unknown extensions.
DEFAULT_CONTENT_TYPES: dict[str, DataType] = {
    "application/pdf": DataType.PDF,
    "application/dicom": DataType.DICOM,
    "application/x-nifti": DataType.NIFTI,
    "application/json": DataType.TEXT,
    "application/xml": DataType.TEXT,
    "image/": DataType.IMAGE,
    "video/": DataType.VIDEO,
    "audio/": DataType.AUDIO,
    "text/": DataType.TEXT,
}


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A record the planner did not put in any manifest, and why (a sentence naming the fix)."""

    key: str
    object_url: str
    reason: str


@dataclass(frozen=True, slots=True)
class Classified:
    record: ObjectRecord
    data_type: DataType


class Classifier:
    """Maps records to data types with configurable extension and content-type tables."""

    def __init__(
        self,
        extensions: Mapping[str, DataType] = DEFAULT_EXTENSIONS,
        content_types: Mapping[str, DataType] = DEFAULT_CONTENT_TYPES,
    ) -> None:
        self._extensions = {suffix.lower(): DataType(kind) for suffix, kind in extensions.items()}
        self._content_types = {mime.lower(): DataType(kind) for mime, kind in content_types.items()}
        self._max_dots = max((suffix.count(".") for suffix in self._extensions), default=1)

    def classify(self, record: ObjectRecord) -> DataType | SkippedFile:
        name = record.key.rsplit("/", 1)[-1].lower()
        # Longest suffix first, so `.nii.gz` wins over a hypothetical `.gz`.
        parts = name.split(".")
        for dots in range(min(self._max_dots, len(parts) - 1), 0, -1):
            found = self._extensions.get("." + ".".join(parts[-dots:]))
            if found is not None:
                return found
        content_type = (record.content_type or "").split(";", 1)[0].strip().lower()
        if content_type:
            if content_type in self._content_types:
                return self._content_types[content_type]
            family = content_type.split("/", 1)[0] + "/"
            if family in self._content_types:
                return self._content_types[family]
        suffix = "." + name.rsplit(".", 1)[-1] if "." in name else "(no extension)"
        return SkippedFile(
            record.key,
            record.object_url,
            f"unsupported file type: extension {suffix!r}, content type "
            f"{record.content_type or 'unknown'!r} map to no Encord data type; add the "
            "extension to the planner's `extensions` mapping if Encord supports it",
        )
