"""The planner's manifests reproduce the examples of seeds 001/002 entry for entry."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from dagster_encord.planner import GroupRule, PlannerConfig, plan_records
from dagster_encord.planner.manifest import manifest_dict
from dagster_encord.sources.base import ObjectRecord

from .helpers import record

S3 = "https://encord-integration.s3.eu-west-2.amazonaws.com"


def combined(records: list[ObjectRecord], config: PlannerConfig, **kwargs: Any) -> dict[str, Any]:
    plan = plan_records(records, config, **kwargs)
    assert not plan.skipped, plan.skipped
    manifest = manifest_dict(
        [item for chunk in plan.chunks for item in chunk.items],
        upsert_metadata=config.upsert_metadata,
    )
    # Every chunk on its own is a valid manifest with the flag set.
    for chunk in plan.chunks:
        assert json.loads(chunk.manifest_text())["skip_duplicate_urls"] is True
    return manifest


def normalised(manifest: Mapping[str, Any]) -> dict[str, Any]:
    def order(entry: Mapping[str, Any]) -> tuple[str, str]:
        return (str(entry.get("title", "")), str(entry.get("objectUrl", entry.get("objectUrl_0"))))

    return {
        key: sorted(value, key=order) if isinstance(value, list) else value
        for key, value in manifest.items()
    }


def test_multiple_types_example_from_seed_001() -> None:
    """1 image, 2 videos, 2 image sequences and 1 image group, as in seed 001's AWS JSON."""
    sequence_rule = GroupRule(
        kind="image_sequence",
        by="regex",
        match="sequences/*",
        pattern=r"^sequences/(?P<group>[^/]+)/",
    )
    group_rule = GroupRule(
        kind="image_group", by="regex", match="groups/*", pattern=r"^groups/(?P<group>[^/]+)/"
    )
    config = PlannerConfig(groups=(sequence_rule, group_rule))
    records = [
        record("single/Image1.png", f"{S3}/images/Image1.png"),
        record("videos/Cooking.mp4", f"{S3}/videos/Cooking.mp4"),
        record("videos/Oranges.mp4", f"{S3}/videos/Oranges.mp4"),
    ]
    for title, prefix in (("apple-samsung-light", "1"), ("apple-samsung-dark", "2")):
        records += [
            record(f"sequences/{title}/{n}.jpg", f"{S3}/images/{prefix}+({n}).jpg")
            for n in (32, 33, 34, 35)
        ]
    records += [
        record(f"groups/apple-ios-light/{n}.jpg", f"{S3}/images/3+({n}).jpg") for n in (32, 33)
    ]
    expected = {
        "images": [{"objectUrl": f"{S3}/images/Image1.png"}],
        "videos": [
            {"objectUrl": f"{S3}/videos/Cooking.mp4"},
            {"objectUrl": f"{S3}/videos/Oranges.mp4"},
        ],
        # The seed repeats the "image_groups" key; both arrays belong under it.
        "image_groups": [
            {
                "title": "apple-samsung-light",
                "createVideo": True,
                **{
                    f"objectUrl_{i}": f"{S3}/images/1+({n}).jpg"
                    for i, n in enumerate(range(32, 36))
                },
            },
            {
                "title": "apple-samsung-dark",
                "createVideo": True,
                **{
                    f"objectUrl_{i}": f"{S3}/images/2+({n}).jpg"
                    for i, n in enumerate(range(32, 36))
                },
            },
            {
                "title": "apple-ios-light",
                "createVideo": False,
                "objectUrl_0": f"{S3}/images/3+(32).jpg",
                "objectUrl_1": f"{S3}/images/3+(33).jpg",
            },
        ],
        "skip_duplicate_urls": True,
    }
    assert normalised(combined(records, config)) == normalised(expected)


def test_dicom_series_example() -> None:
    """Seed 001's three DICOM series: one, three and two files, titled by series."""
    urls = {
        "Series-1": ["study1-series1-file.dcm"],
        "Series-2": [f"study1-series2-file{n}.dcm" for n in (1, 2, 3)],
        "Series-3": [f"study1-series3-file{n}.dcm" for n in (1, 2)],
    }
    records = [
        record(f"study1/{series}/{name}", f"{S3}/images/{name}")
        for series, names in urls.items()
        for name in names
    ]
    config = PlannerConfig(groups=(GroupRule(kind="dicom_series", by="folder", title="{group}"),))
    manifest = combined(records, config)
    expected = {
        "dicom_series": [
            {
                "title": f"study1/{series}",
                **{f"objectUrl_{i}": f"{S3}/images/{name}" for i, name in enumerate(names)},
            }
            for series, names in urls.items()
        ],
        "skip_duplicate_urls": True,
    }
    assert normalised(manifest) == normalised(expected)


def test_nifti_example_with_titles() -> None:
    records = [
        record("vol/nifti-file1.nii", "https://my-bucket/.../nifti-file1.nii"),
        record("vol/nifti-file2.nii.gz", "https://my-bucket/.../nifti-file2.nii.gz"),
    ]
    manifest = combined(records, PlannerConfig(title_template="<{stem}>"))
    assert manifest == {
        "nifti": [
            {"objectUrl": "https://my-bucket/.../nifti-file1.nii", "title": "<nifti-file1>"},
            {"objectUrl": "https://my-bucket/.../nifti-file2.nii.gz", "title": "<nifti-file2>"},
        ],
        "skip_duplicate_urls": True,
    }


def test_media_metadata_examples_from_seed_002() -> None:
    """videoMetadata, audioMetadata, pdfMetadata, textMetadata and imageMetadata as in 002."""
    media = {
        "clip/video_file.mp4": {
            "fps": 23.98,
            "duration": 29.09,
            "width": 1280,
            "height": 720,
        },
        "sound/audio_file.mp3": {
            "duration": 23.98,
            "sample_rate": 44100,
            "bit_depth": 24,
            "codec": "mp3",
            "num_channels": 2,
        },
        "docs/doc.pdf": {"numPages": 5},
        "docs/notes.xml": {},
        "pics/my_image.jpg": {"width": 640, "height": 480},
    }
    records = [
        record("clip/video_file.mp4", "video_file.mp4", size=5468354, content_type="video/mp4"),
        record("sound/audio_file.mp3", "audio_file.mp3", size=2900000, content_type="audio/mp3"),
        record("docs/doc.pdf", "doc.pdf", size=300, content_type="application/pdf"),
        record("docs/notes.xml", "notes.xml", size=200, content_type="application/xml"),
        record("pics/my_image.jpg", "s3://my_image.jpg", size=124, content_type="image/jpg"),
    ]
    manifest = combined(records, PlannerConfig(), media_metadata_for=lambda r: media.get(r.key))
    assert manifest["videos"] == [
        {
            "objectUrl": "video_file.mp4",
            "videoMetadata": {
                "fps": 23.98,
                "duration": 29.09,
                "width": 1280,
                "height": 720,
                "file_size": 5468354,
                "mime_type": "video/mp4",
            },
        }
    ]
    assert manifest["audio"] == [
        {
            "objectUrl": "audio_file.mp3",
            "audioMetadata": {
                "duration": 23.98,
                "file_size": 2900000,
                "mime_type": "audio/mp3",
                "sample_rate": 44100,
                "bit_depth": 24,
                "codec": "mp3",
                "num_channels": 2,
            },
        }
    ]
    assert manifest["pdfs"] == [
        {"objectUrl": "doc.pdf", "pdfMetadata": {"fileSize": 300, "numPages": 5}}
    ]
    assert manifest["text"] == [
        {
            "objectUrl": "notes.xml",
            "textMetadata": {"fileSize": 200, "mime_type": "application/xml"},
        }
    ]
    assert manifest["images"] == [
        {
            "objectUrl": "s3://my_image.jpg",
            "imageMetadata": {
                "mimeType": "image/jpg",
                "fileSize": 124,
                "width": 640,
                "height": 480,
            },
        }
    ]


def test_video_encord_config_and_frames_pass_through() -> None:
    """Seed 001's key-frame and embedding examples: `$encord` goes through untouched."""
    frames_list = {"metadata-1": "value", "$encord": {"frames": ["10", "20", "30"]}}
    frames_map = {
        "metadata-1": "value",
        "$encord": {
            "config": {"sampling_rate": 0, "keyframe_mode": "seconds"},
            "frames": {"1.5": {"my-embedding": [1.0, 2.0, 3.0]}},
        },
    }
    metadata = {"v/video-4.mp4": frames_list, "v/video-6.mp4": frames_map}
    records = [record("v/video-4.mp4", "video-4"), record("v/video-6.mp4", "video-6")]
    manifest = combined(
        records,
        PlannerConfig(title_template="title-for-your-{stem}"),
        metadata_for=lambda r: metadata[r.key],
    )
    assert manifest == {
        "videos": [
            {
                "objectUrl": "video-4",
                "title": "title-for-your-video-4",
                "clientMetadata": frames_list,
            },
            {
                "objectUrl": "video-6",
                "title": "title-for-your-video-6",
                "clientMetadata": frames_map,
            },
        ],
        "skip_duplicate_urls": True,
    }


def test_upsert_metadata_example_from_seed_002() -> None:
    records = [
        record("v/one.mp4", "<object url_1>"),
        record("v/two.mp4", "<object url_2>"),
    ]
    metadata = {"v/two.mp4": {"optional": "metadata"}}
    config = PlannerConfig(upsert_metadata=True)
    plan = plan_records(
        records,
        config,
        metadata_for=lambda r: metadata.get(r.key),
    )
    [chunk] = plan.chunks
    assert json.loads(chunk.manifest_text()) == {
        "videos": [
            {"objectUrl": "<object url_1>"},
            {"objectUrl": "<object url_2>", "clientMetadata": {"optional": "metadata"}},
        ],
        "skip_duplicate_urls": True,
        "upsert_metadata": True,
    }


def test_image_group_and_audio_text_pdf_with_client_metadata() -> None:
    """Per-group clientMetadata, and the audio/pdf/text templates with title and metadata."""
    records = [
        record("groups/g2/file-name-01.jpg", "file/path/to/images/file-name-01.jpg"),
        record("groups/g2/file-name-02.jpg", "file/path/to/images/file-name-02.jpg"),
        record("a/x.mp3", "<object url_1>"),
        record("a/my-custom-audio-file-title.mp3", "<object url_2>"),
    ]
    config = PlannerConfig(
        groups=(GroupRule(kind="image_group", by="folder", match="groups/*", title="<title 2>"),),
        title_template="{name}",
    )
    manifest = combined(
        records,
        config,
        metadata_for=lambda r: (
            {"optional_key_1": "optional_metadata_value_1"} if "custom" in r.key else None
        ),
        group_metadata_for=lambda group, members: {"optional": "metadata", "n": len(members)},
    )
    assert manifest["image_groups"] == [
        {
            "title": "<title 2>",
            "createVideo": False,
            "objectUrl_0": "file/path/to/images/file-name-01.jpg",
            "objectUrl_1": "file/path/to/images/file-name-02.jpg",
            "clientMetadata": {"optional": "metadata", "n": 2},
        }
    ]
    assert sorted(manifest["audio"], key=lambda e: e["objectUrl"]) == [
        {"objectUrl": "<object url_1>", "title": "x.mp3"},
        {
            "objectUrl": "<object url_2>",
            "title": "my-custom-audio-file-title.mp3",
            "clientMetadata": {"optional_key_1": "optional_metadata_value_1"},
        },
    ]


def test_single_images_template_with_custom_metadata_and_embeddings() -> None:
    """Seed 001's single-image template: plain, titled with metadata, and with an embedding."""
    base = "file/path/to/images/file-name-0{n}.file-extension"
    metadata: dict[int, dict[str, Any]] = {
        3: {"metadata-1": "value", "metadata-2": "value"},
        4: {"metadata-1": "value", "metadata-2": "value", "<my-embedding>": [1.0, 2.0, 3.0]},
    }
    records = [record(f"images/file-name-0{n}.jpg", base.format(n=n)) for n in (1, 2, 3, 4)]

    def number(key: str) -> int:
        return int(key[-5])

    plan = plan_records(records, metadata_for=lambda r: metadata.get(number(r.key)))
    manifest = manifest_dict([i for c in plan.chunks for i in c.items])
    assert manifest == {
        "images": [
            {"objectUrl": base.format(n=1)},
            {"objectUrl": base.format(n=2)},
            {"objectUrl": base.format(n=3), "clientMetadata": metadata[3]},
            {"objectUrl": base.format(n=4), "clientMetadata": metadata[4]},
        ],
        "skip_duplicate_urls": True,
    }
