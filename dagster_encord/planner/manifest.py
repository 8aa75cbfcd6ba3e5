"""Manifest items and their rendering as Encord registration JSON or CSV (seeds 001/002).

A `ManifestItem` is one Encord item: a single file (image, video, audio, text, PDF, NIfTI) or a
multi-file item (image group, image sequence = image group with `createVideo: true`, DICOM
series). `entry()` renders one item as its JSON entry; `render_json()`/`render_csv()` render a
list of items as a whole manifest.

- Titles: without a template the title is omitted and Encord uses the file path; a template
  (`{key}`, `{name}`, `{stem}`, `{suffix}`, `{folder}`) sets it. Multi-file items always carry a
  title (`GroupRule.title`, default the group key): DICOM requires one.
- `clientMetadata` passes through as given. A video's `$encord` block (`config` with
  `sampling_rate`/`keyframe_mode`, and `frames` as a list or a frame->embeddings mapping) is
  validated and passed through; `$encord` on any other type is an error.
- Media metadata (`imageMetadata`, `videoMetadata`, `audioMetadata`, `pdfMetadata`,
  `textMetadata`) is emitted when a caller supplies it; the file size and MIME type known from
  the listing fill the keys the caller left out, spelled as in the seeds' examples.
- CSV follows seed 002: one header block per type change, `Create video` column in every block
  once an image sequence is present, titles blank for Encord's default. CSV carries no metadata
  and supports images, videos, image groups/sequences and DICOM only.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dagster_encord.sources.base import ObjectRecord

MANIFEST_KEYS: dict[str, str] = {
    "image": "images",
    "video": "videos",
    "audio": "audio",
    "text": "text",
    "pdf": "pdfs",
    "nifti": "nifti",
    "image_group": "image_groups",
    "image_sequence": "image_groups",
    "dicom_series": "dicom_series",
}
MEDIA_METADATA_KEYS: dict[str, str] = {
    "image": "imageMetadata",
    "video": "videoMetadata",
    "audio": "audioMetadata",
    "pdf": "pdfMetadata",
    "text": "textMetadata",
}
# (size key, MIME key) as spelled in seed 002's examples for each media-metadata block.
_MEDIA_FILL_KEYS: dict[str, tuple[str, str | None]] = {
    "image": ("fileSize", "mimeType"),
    "video": ("file_size", "mime_type"),
    "audio": ("file_size", "mime_type"),
    "pdf": ("fileSize", None),
    "text": ("fileSize", "mime_type"),
}
GROUP_LANES = frozenset({"image_group", "image_sequence", "dicom_series"})
CSV_LANES = frozenset({"image", "video", "image_group", "image_sequence", "dicom_series"})
_CSV_TITLE_HEADINGS = {
    "image": "Image title",
    "video": "Video title",
    "image_group": "Image group title",
    "image_sequence": "Image group title",
    "dicom_series": "Dicom title",
}
TITLE_FIELDS = ("key", "name", "stem", "suffix", "folder")


@dataclass(frozen=True, slots=True)
class ManifestItem:
    """One Encord item; `item_key` is its stable identity (the file key, or kind:group)."""

    lane: str
    item_key: str
    members: tuple[ObjectRecord, ...]
    title: str | None = None
    client_metadata: Mapping[str, Any] | None = None
    media_metadata: Mapping[str, Any] | None = None

    @property
    def url_count(self) -> int:
        return len(self.members)

    @property
    def bytes(self) -> int:
        return sum(record.size for record in self.members)


def single_title(template: str | None, key: str) -> str | None:
    if template is None:
        return None
    return template.format(**title_fields(key))


def title_fields(key: str) -> dict[str, str]:
    folder, _, name = key.rpartition("/")
    stem, dot, suffix = name.partition(".")
    return {
        "key": key,
        "name": name,
        "stem": stem if dot else name,
        "suffix": f".{suffix}" if dot else "",
        "folder": folder,
    }


def client_metadata_problem(lane: str, metadata: Mapping[str, Any], key: str) -> str | None:
    """Why this clientMetadata cannot be registered for this item, or None."""
    block = metadata.get("$encord")
    if block is None:
        return None
    if lane != "video":
        return (
            f"clientMetadata for {key!r} has an '$encord' block, which Encord accepts on videos "
            "only; remove it or move the embeddings to ordinary metadata keys"
        )
    if not isinstance(block, Mapping) or set(block) - {"config", "frames"}:
        return (
            f"clientMetadata['$encord'] for {key!r} must be a mapping with only 'config' and "
            "'frames'"
        )
    config = block.get("config")
    if config is not None:
        if not isinstance(config, Mapping) or set(config) - {"sampling_rate", "keyframe_mode"}:
            return (
                f"clientMetadata['$encord']['config'] for {key!r} accepts only 'sampling_rate' "
                "and 'keyframe_mode'"
            )
        if config.get("keyframe_mode", "frame") not in ("frame", "seconds"):
            return (
                f"clientMetadata['$encord']['config']['keyframe_mode'] for {key!r} is "
                f"{config.get('keyframe_mode')!r}; expected 'frame' or 'seconds'"
            )
    frames = block.get("frames")
    if frames is not None and not isinstance(frames, list | Mapping):
        return (
            f"clientMetadata['$encord']['frames'] for {key!r} must be a list of frame numbers or "
            "a mapping of frame -> embeddings"
        )
    return None


def media_metadata(lane: str, given: Mapping[str, Any], record: ObjectRecord) -> dict[str, Any]:
    """The caller's media metadata, completed with size and MIME type from the listing."""
    filled = dict(given)
    size_key, mime_key = _MEDIA_FILL_KEYS[lane]
    alternates = {size_key, "file_size", "fileSize"}
    if not alternates & filled.keys():
        filled[size_key] = record.size
    if mime_key and record.content_type and not {mime_key, "mime_type", "mimeType"} & filled.keys():
        filled[mime_key] = record.content_type
    return filled


def entry(item: ManifestItem) -> dict[str, Any]:
    """The item's entry in its manifest array, in the seeds' key order."""
    result: dict[str, Any] = {}
    if item.lane in GROUP_LANES:
        result["title"] = item.title
        if item.lane != "dicom_series":
            result["createVideo"] = item.lane == "image_sequence"
        for position, record in enumerate(item.members):
            result[f"objectUrl_{position}"] = record.object_url
    else:
        result["objectUrl"] = item.members[0].object_url
        if item.title is not None:
            result["title"] = item.title
        if item.media_metadata is not None:
            result[MEDIA_METADATA_KEYS[item.lane]] = dict(item.media_metadata)
    if item.client_metadata is not None:
        result["clientMetadata"] = dict(item.client_metadata)
    return result


def manifest_dict(
    items: Iterable[ManifestItem], *, upsert_metadata: bool = False
) -> dict[str, Any]:
    manifest: dict[str, Any] = {}
    for item in items:
        manifest.setdefault(MANIFEST_KEYS[item.lane], []).append(entry(item))
    manifest["skip_duplicate_urls"] = True
    if upsert_metadata:
        manifest["upsert_metadata"] = True
    return manifest


def render_json(items: Iterable[ManifestItem], *, upsert_metadata: bool = False) -> str:
    return json.dumps(
        manifest_dict(items, upsert_metadata=upsert_metadata),
        ensure_ascii=False,
        separators=(",", ":"),
    )


def render_csv(items: Iterable[ManifestItem]) -> str:
    """Seed 002's CSV: a header row whenever the type changes; one row per URL."""
    items = list(items)
    with_sequences = any(item.lane == "image_sequence" for item in items)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    current: str | None = None
    for item in items:
        heading = _CSV_TITLE_HEADINGS[item.lane]
        three_columns = with_sequences or item.lane in ("image_group", "image_sequence")
        if heading != current:
            writer.writerow(
                ["ObjectUrl", heading, "Create video"] if three_columns else ["ObjectUrl", heading]
            )
            current = heading
        create_video = "true" if item.lane == "image_sequence" else "false"
        for record in item.members:
            row = [record.object_url, item.title or ""]
            writer.writerow([*row, create_video] if three_columns else row)
    return out.getvalue()
