"""Tiny, structurally valid sample media made with the standard library (nothing is downloaded).

`sample_files()` returns key -> bytes for a demo bucket: PNG images, MP4 videos, an image sequence
(numbered PNG frames in one folder) and a DICOM series (Part 10 files sharing a series uid).
"""

from __future__ import annotations

import struct
import zlib

SEQUENCE_PREFIX = "sequences/"
DICOM_PREFIX = "dicom/"


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour 8-bit RGB PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4(duration_seconds: int, timescale: int = 1000) -> bytes:
    """An ISO BMFF file with `ftyp`, an empty `mdat` and a `moov/mvhd` carrying the duration."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2mp41")
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = _box(
        b"mvhd",
        struct.pack(">B3xIIII", 0, 0, 0, timescale, duration_seconds * timescale)
        + struct.pack(">IH10x", 0x00010000, 0x0100)
        + matrix
        + b"\x00" * 24
        + struct.pack(">I", 2),
    )
    return ftyp + _box(b"mdat", b"") + _box(b"moov", mvhd)


def _dicom_element(group: int, element: int, vr: bytes, value: bytes) -> bytes:
    if len(value) % 2:
        value += b"\x00" if vr == b"UI" else b" "
    if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT"):
        return struct.pack("<HH", group, element) + vr + b"\x00\x00" + struct.pack("<I", len(value))
    return struct.pack("<HH", group, element) + vr + struct.pack("<H", len(value)) + value


def dicom(
    series_uid: str, instance_number: int, study_uid: str = "1.2.826.0.1.3680043.8.498.1"
) -> bytes:
    """A minimal DICOM Part 10 file (explicit VR little endian, CT image storage, 2x2 pixels)."""
    sop_instance = f"{series_uid}.{instance_number}"
    sop_class = b"1.2.840.10008.5.1.4.1.1.2"
    transfer_syntax = b"1.2.840.10008.1.2.1"
    meta_body = (
        _dicom_element(0x0002, 0x0001, b"OB", b"\x00\x01")
        + _dicom_element(0x0002, 0x0002, b"UI", sop_class)
        + _dicom_element(0x0002, 0x0003, b"UI", sop_instance.encode())
        + _dicom_element(0x0002, 0x0010, b"UI", transfer_syntax)
    )
    meta = _dicom_element(0x0002, 0x0000, b"UL", struct.pack("<I", len(meta_body))) + meta_body
    pixels = struct.pack("<4H", 0, 100, 200, 300)
    dataset = (
        _dicom_element(0x0008, 0x0016, b"UI", sop_class)
        + _dicom_element(0x0008, 0x0018, b"UI", sop_instance.encode())
        + _dicom_element(0x0008, 0x0060, b"CS", b"CT")
        + _dicom_element(0x0010, 0x0010, b"PN", b"Demo^Patient")
        + _dicom_element(0x0020, 0x000D, b"UI", study_uid.encode())
        + _dicom_element(0x0020, 0x000E, b"UI", series_uid.encode())
        + _dicom_element(0x0020, 0x0013, b"IS", str(instance_number).encode())
        + _dicom_element(0x0028, 0x0002, b"US", struct.pack("<H", 1))
        + _dicom_element(0x0028, 0x0004, b"CS", b"MONOCHROME2")
        + _dicom_element(0x0028, 0x0010, b"US", struct.pack("<H", 2))
        + _dicom_element(0x0028, 0x0011, b"US", struct.pack("<H", 2))
        + _dicom_element(0x0028, 0x0100, b"US", struct.pack("<H", 16))
        + _dicom_element(0x0028, 0x0101, b"US", struct.pack("<H", 16))
        + _dicom_element(0x0028, 0x0102, b"US", struct.pack("<H", 15))
        + _dicom_element(0x0028, 0x0103, b"US", struct.pack("<H", 0))
        + _dicom_element(0x7FE0, 0x0010, b"OW", pixels)
    )
    return b"\x00" * 128 + b"DICM" + meta + dataset


def sample_files(
    images: int = 6, videos: int = 2, frames: int = 5, slices: int = 4
) -> dict[str, bytes]:
    """Key -> bytes for the demo bucket."""
    files: dict[str, bytes] = {}
    palette = [(200, 40, 40), (40, 160, 60), (40, 80, 200), (220, 180, 30), (120, 40, 160)]
    for index in range(images):
        files[f"images/sample_{index:03d}.png"] = png(8, 6, palette[index % len(palette)])
    for index in range(videos):
        files[f"videos/clip_{index:02d}.mp4"] = mp4(duration_seconds=index + 1)
    for index in range(frames):
        files[f"{SEQUENCE_PREFIX}cam_front/frame_{index:04d}.png"] = png(4, 4, (index * 40, 90, 90))
    series_uid = "1.2.826.0.1.3680043.8.498.2"
    for index in range(slices):
        files[f"{DICOM_PREFIX}series_001/slice_{index + 1:03d}.dcm"] = dicom(series_uid, index + 1)
    return files


def planner_groups() -> list[dict[str, str]]:
    """Planner group rules that turn the sample frames into one image sequence per folder."""
    return [
        {"kind": "image_sequence", "by": "folder", "match": f"{SEQUENCE_PREFIX}**"},
        {"kind": "dicom_series", "by": "folder", "match": f"{DICOM_PREFIX}**"},
    ]
