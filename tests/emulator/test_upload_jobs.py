"""Upload jobs through the real SDK: every documented data type, default titles, duplicates,
upserts, ignoreErrors, cancellation, object verification against moto, limits and a 10k job."""

from __future__ import annotations

import boto3
import pytest
from encord import EncordUserClient
from encord.exceptions import InvalidArgumentsError
from encord.orm.storage import (
    DataUploadImage,
    DataUploadImageGroup,
    DataUploadImageGroupImage,
    DataUploadItems,
)

from dagster_encord.emulator import EncordEmulator

S3 = "https://bucket.s3.eu-west-2.amazonaws.com"


def run(folder, integration: str, spec, ignore_errors: bool = True):  # type: ignore[no-untyped-def]
    job = folder.add_private_data_to_folder_start(integration, spec, ignore_errors=ignore_errors)
    return folder.add_private_data_to_folder_get_result(job)


def test_every_documented_data_type(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    folder = encord_user_client.create_storage_folder("all-types")
    spec = {
        "videos": [
            {"objectUrl": f"{S3}/videos/v1.mp4"},
            {
                "objectUrl": f"{S3}/videos/v2.mp4",
                "title": "second.mp4",
                "videoMetadata": {
                    "fps": 23.98,
                    "duration": 29.09,
                    "width": 1280,
                    "height": 720,
                    "file_size": 5468354,
                    "mime_type": "video/mp4",
                },
                "clientMetadata": {"optional": "metadata"},
            },
        ],
        "audio": [
            {
                "objectUrl": f"{S3}/a/song.mp3",
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
        ],
        "pdfs": [
            {"objectUrl": f"{S3}/docs/d.pdf", "pdfMetadata": {"fileSize": 300, "numPages": 5}}
        ],
        "text": [{"objectUrl": f"{S3}/t/notes.txt", "title": "my-file.html"}],
        "images": [
            {
                "objectUrl": f"{S3}/images/i.png",
                "imageMetadata": {
                    "mimeType": "image/png",
                    "fileSize": 10,
                    "height": 480,
                    "width": 640,
                },
            }
        ],
        "image_groups": [
            {
                "title": "group",
                "createVideo": False,
                "objectUrl_0": f"{S3}/g/1.jpg",
                "objectUrl_1": f"{S3}/g/2.jpg",
            },
            {
                "title": "sequence",
                "createVideo": True,
                "objectUrl_1": f"{S3}/s/2.jpg",
                "objectUrl_0": f"{S3}/s/1.jpg",
            },
        ],
        "dicom_series": [
            {"title": "Series-1", "objectUrl_0": f"{S3}/d/1.dcm", "objectUrl_1": f"{S3}/d/2.dcm"}
        ],
        "nifti": [{"title": "brain", "objectUrl": f"{S3}/n/brain.nii.gz"}],
        "skip_duplicate_urls": True,
    }
    result = run(folder, encord_integration, spec, ignore_errors=False)
    assert result.status.value == "DONE"
    assert result.units_done_count == 10
    by_name = {i.name: i for i in folder.list_items()}
    assert by_name["/videos/v1.mp4"].item_type.value == "video"  # title defaults to the object path
    second = by_name["second.mp4"]
    assert (second.fps, second.width, second.file_size, second.client_metadata) == (
        23.98,
        1280,
        5468354,
        {"optional": "metadata"},
    )
    assert by_name["/a/song.mp3"].audio_sample_rate == 44100
    assert by_name["group"].item_type.value == "imageGroup"
    assert by_name["sequence"].item_type.value == "imageSequence"
    assert by_name["Series-1"].item_type.value == "dicomSeries"
    assert by_name["brain"].item_type.value == "nifti"
    assert by_name["my-file.html"].item_type.value == "plainText"
    assert by_name["/docs/d.pdf"].item_type.value == "pdf"
    assert by_name["/images/i.png"].height == 480


def test_data_items_form(encord_user_client: EncordUserClient, encord_integration: str) -> None:
    folder = encord_user_client.create_storage_folder("data-items")
    items = DataUploadItems(
        images=[
            DataUploadImage(object_url="s3://b/x.jpg", title="x.jpg", client_metadata={"k": 1})
        ],
        image_groups=[
            DataUploadImageGroup(images=[DataUploadImageGroupImage(url="s3://b/1.jpg")], title="ig")
        ],
        skip_duplicate_urls=True,
    )
    result = run(folder, encord_integration, items)
    assert sorted(i.name for i in result.items_with_names) == ["ig", "x.jpg"]


def test_skip_duplicates_and_upsert_metadata(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    folder = encord_user_client.create_storage_folder("dupes")
    first = run(
        folder,
        encord_integration,
        {"images": [{"objectUrl": "s3://b/a.jpg", "clientMetadata": {"v": 1}}]},
    )
    again = run(
        folder,
        encord_integration,
        {
            "images": [{"objectUrl": "s3://b/a.jpg", "clientMetadata": {"v": 2}}],
            "skip_duplicate_urls": True,
        },
    )
    assert again.items_with_names[0].item_uuid == first.items_with_names[0].item_uuid
    assert encord_user_client.get_storage_item(
        first.items_with_names[0].item_uuid
    ).client_metadata == {"v": 1}
    run(
        folder,
        encord_integration,
        {
            "images": [{"objectUrl": "s3://b/a.jpg", "clientMetadata": {"v": 3}}],
            "skip_duplicate_urls": True,
            "upsert_metadata": True,
        },
    )
    assert encord_user_client.get_storage_item(
        first.items_with_names[0].item_uuid
    ).client_metadata == {"v": 3}
    assert encord_emulator.duplicate_items() == 0
    run(folder, encord_integration, {"images": [{"objectUrl": "s3://b/a.jpg"}]})  # no skip flag
    assert encord_emulator.duplicate_items() == 1
    assert len(list(folder.list_items())) == 2


def test_ignore_errors_false_aborts_with_error(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    folder = encord_user_client.create_storage_folder("strict")
    encord_emulator.fail_url("s3://b/bad.jpg")
    spec = {"images": [{"objectUrl": "s3://b/good.jpg"}, {"objectUrl": "s3://b/bad.jpg"}]}
    strict = run(folder, encord_integration, spec, ignore_errors=False)
    assert strict.status.value == "ERROR"
    assert (strict.units_done_count, strict.units_error_count, strict.units_cancelled_count) == (
        0,
        1,
        1,
    )
    assert strict.unit_errors[0].object_urls == ["s3://b/bad.jpg"]
    lenient = run(folder, encord_integration, spec, ignore_errors=True)
    assert lenient.status.value == "DONE"
    assert (lenient.units_done_count, lenient.units_error_count) == (1, 1)
    assert "File not found" in lenient.unit_errors[0].error


def test_unsupported_format_is_a_unit_error(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    folder = encord_user_client.create_storage_folder("formats")
    result = run(folder, encord_integration, {"videos": [{"objectUrl": "s3://b/photo.jpg"}]})
    assert result.unit_errors[0].object_urls == ["s3://b/photo.jpg"]
    assert "Unsupported format" in result.unit_errors[0].error


def test_missing_objects_in_moto_are_unit_errors(
    s3_bucket: tuple[str, str], encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    endpoint, bucket = s3_bucket
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.put_object(Bucket=bucket, Key="dir/with space.jpg", Body=b"12345")
    folder = encord_user_client.create_storage_folder("moto")
    spec = {
        "images": [
            {"objectUrl": f"{endpoint}/{bucket}/dir/with%20space.jpg"},
            {"objectUrl": f"{endpoint}/{bucket}/dir/missing.jpg"},
        ]
    }
    result = run(folder, encord_integration, spec)
    assert [e.object_urls for e in result.unit_errors] == [[f"{endpoint}/{bucket}/dir/missing.jpg"]]
    (item,) = folder.list_items()
    assert (item.name, item.file_size) == ("/" + bucket + "/dir/with space.jpg", 5)


def test_large_directory_in_moto_is_listed_not_probed(
    s3_bucket: tuple[str, str], encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    endpoint, bucket = s3_bucket
    s3 = boto3.client("s3", endpoint_url=endpoint)
    for n in range(80):
        s3.put_object(Bucket=bucket, Key=f"frames/{n:03d}.jpg", Body=b"x" * n)
    folder = encord_user_client.create_storage_folder("listed")
    urls = [f"{endpoint}/{bucket}/frames/{n:03d}.jpg" for n in range(81)]  # 080.jpg does not exist
    result = run(folder, encord_integration, {"images": [{"objectUrl": u} for u in urls]})
    assert (result.units_done_count, result.units_error_count) == (80, 1)
    assert result.unit_errors[0].object_urls == [urls[80]]
    sizes = {i.url: i.file_size for i in folder.list_items(page_size=1000)}
    assert sizes[urls[7]] == 7


def test_cancel_a_stalled_job(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    folder = encord_user_client.create_storage_folder("cancel")
    encord_emulator.stall_jobs(1)
    job = folder.add_private_data_to_folder_start(
        encord_integration, {"images": [{"objectUrl": "s3://b/1.jpg"}]}
    )
    pending = folder.add_private_data_to_folder_get_result(job, timeout_seconds=1)
    assert pending.status.value == "PENDING" and pending.units_pending_count == 1
    assert folder.add_data_to_folder_job_cancel(job).units_cancelled_count == 1
    assert folder.add_private_data_to_folder_get_result(job).status.value == "CANCELLED"
    assert list(folder.list_items()) == []


def test_ten_thousand_item_job(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    folder = encord_user_client.create_storage_folder("big")
    spec = {"images": [{"objectUrl": f"{S3}/big/{n:05d}.jpg"} for n in range(10_000)]}
    result = run(folder, encord_integration, spec, ignore_errors=False)
    assert (result.status.value, result.units_done_count, len(result.items_with_names)) == (
        "DONE",
        10_000,
        10_000,
    )
    assert folder.get_summary().files == 10_000


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"images": [{"objectUrl": "s3://b/" + "k" * 17_000}]},
            r"images\[0\]\.objectUrl is 17,007 bytes",
        ),
        (
            {"images": [{"objectUrl": "s3://b/a.jpg", "colour": "red"}]},
            r"images\[0\]: unknown key 'colour'",
        ),
        ({"images": [{"objectUrl": 5}]}, r"images\[0\]\.objectUrl must be a non-empty string"),
        ({"imagez": []}, r"unknown key 'imagez'"),
        (
            {
                "images": [
                    {
                        "objectUrl": "s3://b/a.jpg",
                        "clientMetadata": {"big": "x" * (10 * 1024 * 1024)},
                    }
                ]
            },
            r"10 MB",
        ),
        (
            {
                "images": [
                    {"objectUrl": "s3://b/a.jpg", "clientMetadata": {"n": {"t": "x" * (10 << 20)}}}
                ]
            },
            r"images\[0\]\.clientMetadata is 10,485,7\d\d bytes",
        ),
        (
            {"image_groups": [{"title": "g", "createVideo": "yes", "objectUrl_0": "s3://b/1.jpg"}]},
            r"createVideo must be a boolean",
        ),
    ],
)
def test_bad_input_is_400_naming_the_entry(
    encord_user_client: EncordUserClient, encord_integration: str, spec: dict, message: str
) -> None:
    folder = encord_user_client.create_storage_folder("bad")
    with pytest.raises(InvalidArgumentsError, match=message):
        folder.add_private_data_to_folder_start(encord_integration, spec)


def test_job_limits(encord_user_client: EncordUserClient, encord_integration: str) -> None:
    folder = encord_user_client.create_storage_folder("limits")
    too_many_items = {"images": [{"objectUrl": f"s3://b/{n}.jpg"} for n in range(500_001)]}
    with pytest.raises(InvalidArgumentsError, match="more than 500,000 items"):
        folder.add_private_data_to_folder_start(encord_integration, too_many_items)
    frames = {f"objectUrl_{n}": f"s3://b/{n}.jpg" for n in range(2_001)}
    too_many_urls = {"image_groups": [{"title": f"g{g}", **frames} for g in range(500)]}
    with pytest.raises(InvalidArgumentsError, match="more than 1,000,000 URLs"):
        folder.add_private_data_to_folder_start(encord_integration, too_many_urls)
