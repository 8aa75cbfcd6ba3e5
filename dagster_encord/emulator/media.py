"""Media sizes from the headers of objects the emulator can reach.

Images: Pillow parses only the header (`Image.open(...).size` decodes no pixels), so the first
64 KiB nearly always suffice; a JPEG whose EXIF or ICC segments push its frame header further
gets one more read of 1 MiB. Videos: see `video` (PyAV, the `media` extra). An object whose
header cannot be read keeps its sizes unknown.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from dagster_encord.emulator.objects import read_head
from dagster_encord.emulator.verify import ObjectVerifier
from dagster_encord.emulator.video import probe_video

HEAD_BYTES = 64 * 1024
MORE_BYTES = 1024 * 1024
IMAGE_ITEM_TYPES = {"image", "imageGroup", "imageSequence"}  # the frames of groups are images
SIZE_FIELDS = ("width", "height")


def image_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) from an image file's first bytes, None when Pillow cannot tell."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(head)) as image:
            width, height = image.size
    except Exception:  # truncated or unknown data raises any of a dozen types inside Pillow
        return None
    return (int(width), int(height)) if width > 0 and height > 0 else None


def probe_image(where: Path | str) -> dict[str, int]:
    """{"width", "height"} of the image at `where`, or {} when it cannot be read."""
    head = read_head(where, HEAD_BYTES)
    size = image_size(head) if head else None
    if size is None and head is not None and len(head) == HEAD_BYTES:
        head = read_head(where, MORE_BYTES)
        size = image_size(head) if head else None
    return {} if size is None else dict(zip(SIZE_FIELDS, size, strict=True))


def probe_objects(
    verifier: ObjectVerifier, wanted: dict[str, str], sizes: dict[str, int]
) -> dict[str, dict[str, Any]]:
    """url -> what its header tells, for `wanted` (url -> "image" | "video") URLs the verifier
    reaches, read in parallel like its checks. A video needs its byte size (for seeking)."""
    targets = [
        (url, where, kind)
        for url, kind in wanted.items()
        if (where := verifier.locate(url)) is not None and (kind == "image" or url in sizes)
    ]
    if not targets:
        return {}

    def probe(target: tuple[str, Path | str, str]) -> dict[str, Any]:
        url, where, kind = target
        return probe_image(where) if kind == "image" else probe_video(where, sizes[url])

    with ThreadPoolExecutor(verifier.workers) as pool:
        found = zip(targets, pool.map(probe, targets), strict=True)
        return {url: media for (url, _, _), media in found if media}


def urls_to_probe(unit: dict[str, Any]) -> dict[str, str]:
    """url -> "image" | "video" for the media of a unit whose sizes the registration JSON does
    not already give."""
    item_type = unit["itemType"]
    if item_type == "video":
        return {} if _given(unit["media"]) else {unit["urls"][0]: "video"}
    if item_type not in IMAGE_ITEM_TYPES or "fromItems" in unit:
        return {}  # groups made from existing items reuse those items as frames
    if item_type == "image":
        return {} if _given(unit["media"]) else {unit["urls"][0]: "image"}
    frames: list[dict[str, Any]] = unit.get("frames") or []
    return {
        url: "image"
        for index, url in enumerate(unit["urls"])
        if not (index < len(frames) and _given(frames[index].get("media") or {}))
    }


def _given(media: dict[str, Any]) -> bool:
    return all(name in media for name in SIZE_FIELDS)
