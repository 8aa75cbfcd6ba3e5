"""Image sizes from the headers of objects the emulator can reach.

Pillow parses only the header (`Image.open(...).size` decodes no pixels), so the first 64 KiB
nearly always suffice; a JPEG whose EXIF or ICC segments push its frame header further gets one
more read of 1 MiB. An object that is not a readable image keeps its size unknown.
Video headers are not read: an MP4's `moov` box may sit at the end of the file, so sizes would
need a second read at an offset found first, and a media library.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from dagster_encord.emulator.objects import read_head
from dagster_encord.emulator.verify import ObjectVerifier

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


def probe_images(verifier: ObjectVerifier, urls: Iterable[str]) -> dict[str, dict[str, int]]:
    """url -> probed sizes, for the URLs the verifier reaches (read in parallel like it)."""
    targets = {url: where for url in urls if (where := verifier.locate(url)) is not None}
    if not targets:
        return {}
    with ThreadPoolExecutor(verifier.workers) as pool:
        probed = dict(zip(targets, pool.map(probe_image, targets.values()), strict=True))
    return {url: sizes for url, sizes in probed.items() if sizes}


def urls_to_probe(unit: dict[str, Any]) -> list[str]:
    """The image URLs of a unit whose sizes the registration JSON does not already give."""
    if unit["itemType"] not in IMAGE_ITEM_TYPES or "fromItems" in unit:
        return []  # groups made from existing items reuse those items as frames
    if unit["itemType"] == "image":
        return [] if _given(unit["media"]) else unit["urls"][:1]
    frames: list[dict[str, Any]] = unit.get("frames") or []
    return [
        url
        for index, url in enumerate(unit["urls"])
        if not (index < len(frames) and _given(frames[index].get("media") or {}))
    ]


def _given(media: dict[str, Any]) -> bool:
    return all(name in media for name in SIZE_FIELDS)
