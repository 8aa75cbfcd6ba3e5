"""Video headers: the emulator reads an MP4's width, height, fps, duration and frame count with
PyAV (the `media` extra) through range reads, even when the `moov` box comes last; without PyAV
the sizes stay unknown and the message names the extra."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import av
import boto3
from encord import EncordUserClient
from encord.orm.dataset import StorageLocation

from dagster_encord.emulator.video import RangeFile, probe_video


def mp4(path: Path, width: int, height: int, fps: int, frames: int) -> bytes:
    """An MPEG-4 video of noise (so the media data is large); the muxer writes `moov` last."""
    with av.open(str(path), "w", format="mp4") as output:
        stream = output.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for _ in range(frames):
            frame = av.VideoFrame(width, height, "yuv420p")
            for plane in frame.planes:
                plane.update(os.urandom(plane.buffer_size))
            output.mux(stream.encode(frame))
        output.mux(stream.encode())
    return path.read_bytes()


def test_video_headers_reach_items_and_label_rows(
    tmp_path: Path,
    s3_bucket: tuple[str, str],
    encord_user_client: EncordUserClient,
    encord_integration: str,
) -> None:
    client = encord_user_client
    endpoint, bucket = s3_bucket
    s3 = boto3.client("s3", endpoint_url=endpoint)
    body = mp4(tmp_path / "clip.mp4", 320, 240, 10, 25)
    assert body.find(b"moov") > len(body) // 2  # the header sits after the media data
    s3.put_object(Bucket=bucket, Key="v/clip.mp4", Body=body)
    s3.put_object(Bucket=bucket, Key="v/given.mp4", Body=body)
    s3.put_object(Bucket=bucket, Key="v/broken.mp4", Body=b"\0" * 5000)
    url = f"{endpoint}/{bucket}/v"
    given = {"fps": 30.0, "duration": 9.0, "width": 1920, "height": 1080, "mime_type": "video/mp4"}
    spec = {
        "videos": [
            {"objectUrl": f"{url}/clip.mp4"},
            {"objectUrl": f"{url}/given.mp4", "videoMetadata": given},
            {"objectUrl": f"{url}/broken.mp4"},
        ]
    }
    folder = client.create_storage_folder("videos")
    job = folder.add_private_data_to_folder_start(encord_integration, spec, ignore_errors=True)
    result = folder.add_private_data_to_folder_get_result(job)
    assert result.units_done_count == 3

    items = {i.url.rsplit("/", 1)[-1]: i for i in folder.list_items() if i.url}
    clip = items["clip.mp4"]
    assert (clip.width, clip.height, clip.fps, clip.duration, clip.frame_count) == (
        320,
        240,
        10.0,
        2.5,
        25,
    )
    assert (items["given.mp4"].width, items["given.mp4"].height, items["given.mp4"].fps) == (
        1920,
        1080,
        30.0,
    )
    broken = items["broken.mp4"]
    assert (broken.width, broken.height, broken.fps, broken.frame_count) == (None,) * 4

    created = client.create_dataset("ds", StorageLocation.AWS, create_backing_folder=False)
    client.get_dataset(created.dataset_hash).link_items([clip.uuid])
    project = client.get_project(client.create_project("p", [created.dataset_hash]))
    (label_row,) = project.list_label_rows_v2()
    assert (label_row.number_of_frames, label_row.fps, label_row.duration) == (25, 10.0, 2.5)
    label_row.initialise_labels()
    (unit,) = label_row.to_encord_dict()["data_units"].values()
    assert (unit["width"], unit["height"]) == (320, 240)


def test_the_header_costs_a_few_range_reads(tmp_path: Path) -> None:
    body = mp4(tmp_path / "clip.mp4", 320, 240, 10, 25)
    reader = RangeFile(tmp_path / "clip.mp4", len(body))
    with av.open(reader, options={"probesize": "32", "analyzeduration": "0"}) as container:
        assert container.streams.video[0].frames == 25
    assert reader.bytes_read < len(body) // 4
    assert probe_video(tmp_path / "clip.mp4", len(body))["frameCount"] == 25


def test_without_pyav_the_error_names_the_extra(tmp_path: Path) -> None:
    (tmp_path / "x.mp4").write_bytes(b"\0" * 100)
    script = (
        "import sys; sys.modules['av'] = None\n"  # as if PyAV were not installed
        "from pathlib import Path\n"
        "from dagster_encord.emulator.video import probe_video, require_av\n"
        f"assert probe_video(Path({str(tmp_path / 'x.mp4')!r}), 100) == {{}}\n"
        "try:\n"
        "    require_av()\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert "pip install 'dagster-encord[media]'" in done.stdout
    assert "pip install 'dagster-encord[media]'" in done.stderr  # logged once by the probe
