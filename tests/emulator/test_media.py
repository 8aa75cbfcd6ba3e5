"""Real image sizes: the emulator reads the headers of objects it can reach (moto, a local root)
at registration; storage items, data rows, label rows and COCO exports carry them, registration
JSON wins."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import boto3
from encord import EncordUserClient
from encord.objects import OntologyStructure, Shape
from encord.objects.coordinates import BoundingBoxCoordinates
from encord.objects.ontology_object_instance import ObjectInstance
from encord.orm.dataset import StorageLocation
from encord.orm.storage import (
    CustomerProvidedImageMetadata,
    DataUploadImageGroup,
    DataUploadImageGroupImage,
    DataUploadItems,
)
from PIL import Image

from dagster_encord.emulator import EncordEmulator
from dagster_encord.emulator.verify import ObjectVerifier
from dagster_encord.quickstart.sample_media import png


def jpeg(width: int, height: int, icc_bytes: int = 0) -> bytes:
    """A JPEG; a large ICC profile puts its frame header past the first 64 KiB."""
    buffer = io.BytesIO()
    options: dict[str, Any] = {"icc_profile": b"\0" * icc_bytes} if icc_bytes else {}
    Image.new("RGB", (width, height), (10, 200, 30)).save(buffer, "JPEG", **options)
    return buffer.getvalue()


def upload(s3_bucket: tuple[str, str], objects: dict[str, bytes]) -> dict[str, str]:
    """Put the objects in the moto bucket; key -> the path-style URL the emulator reads."""
    endpoint, bucket = s3_bucket
    s3 = boto3.client("s3", endpoint_url=endpoint)
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    return {key: f"{endpoint}/{bucket}/{key}" for key in objects}


def register(client: EncordUserClient, integration: str, spec: Any):  # type: ignore[no-untyped-def]
    folder = client.create_storage_folder("media")
    job = folder.add_private_data_to_folder_start(integration, spec, ignore_errors=True)
    result = folder.add_private_data_to_folder_get_result(job)
    assert result.unit_errors == []
    return folder, result


def test_image_sizes_reach_items_data_rows_and_label_rows(
    s3_bucket: tuple[str, str], encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    client = encord_user_client
    urls = upload(
        s3_bucket,
        {
            "cams/wide.png": png(64, 24, (255, 0, 0)),
            "cams/tall.jpg": jpeg(30, 70),
            "cams/big-header.jpg": jpeg(41, 17, icc_bytes=200_000),
        },
    )
    folder, result = register(
        client, encord_integration, {"images": [{"objectUrl": u} for u in urls.values()]}
    )

    sizes = {i.url: (i.width, i.height) for i in folder.list_items()}
    assert sizes == {
        urls["cams/wide.png"]: (64, 24),
        urls["cams/tall.jpg"]: (30, 70),
        urls["cams/big-header.jpg"]: (41, 17),
    }
    created = client.create_dataset("ds", StorageLocation.AWS, create_backing_folder=False)
    dataset = client.get_dataset(created.dataset_hash)
    dataset.link_items([i.item_uuid for i in result.items_with_names])
    rows = client.get_dataset(created.dataset_hash).data_rows
    assert {r.file_link: (r.width, r.height) for r in rows} == sizes

    project = client.get_project(client.create_project("p", [created.dataset_hash]))
    label_rows = project.list_label_rows_v2()
    assert {r.data_link: (r.width, r.height) for r in label_rows} == sizes
    with project.create_bundle() as bundle:
        for label_row in label_rows:
            label_row.initialise_labels(bundle=bundle)
    units = {
        unit["data_link"]: (unit["width"], unit["height"])
        for label_row in label_rows
        for unit in label_row.to_encord_dict()["data_units"].values()
    }
    assert units == sizes


def test_registration_metadata_wins_over_the_header(
    s3_bucket: tuple[str, str], encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    urls = upload(s3_bucket, {"a.png": png(40, 30, (0, 0, 255))})
    spec = {
        "images": [{"objectUrl": urls["a.png"], "imageMetadata": {"width": 400, "height": 300}}]
    }
    folder, _ = register(encord_user_client, encord_integration, spec)
    (item,) = folder.list_items()
    assert (item.width, item.height) == (400, 300)


def test_an_unreadable_object_keeps_its_size_unknown(
    s3_bucket: tuple[str, str], encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    urls = upload(s3_bucket, {"broken.png": b"not an image at all", "ok.png": png(5, 6, (1, 2, 3))})
    folder, result = register(
        encord_user_client,
        encord_integration,
        {"images": [{"objectUrl": u} for u in urls.values()]},
    )
    assert result.units_done_count == 2
    by_url = {i.url: (i.width, i.height, i.file_size) for i in folder.list_items()}
    assert by_url[urls["broken.png"]] == (None, None, len(b"not an image at all"))
    assert by_url[urls["ok.png"]][:2] == (5, 6)


def test_group_frames_get_their_own_sizes(
    s3_bucket: tuple[str, str], encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    client = encord_user_client
    urls = upload(
        s3_bucket,
        {"g/0.png": png(8, 4, (9, 9, 9)), "g/1.png": png(16, 12, (9, 9, 9))},
    )
    override = CustomerProvidedImageMetadata(
        mime_type="image/png", file_size=1, width=99, height=77
    )
    frames = [
        DataUploadImageGroupImage(url=urls["g/0.png"]),
        DataUploadImageGroupImage(url=urls["g/1.png"], image_metadata=override),
    ]
    spec = DataUploadItems(
        image_groups=[
            DataUploadImageGroup(title="group", images=frames),
            DataUploadImageGroup(title="sequence", images=frames[:1], create_video=True),
        ]
    )
    folder, _ = register(client, encord_integration, spec)
    by_name = {i.name: i for i in folder.list_items()}
    children = by_name["group"].get_child_items()
    assert [(c.width, c.height) for c in children] == [(8, 4), (99, 77)]
    assert (by_name["sequence"].width, by_name["sequence"].height) == (8, 4)

    created = client.create_dataset("ds", StorageLocation.AWS, create_backing_folder=False)
    client.get_dataset(created.dataset_hash).link_items([by_name["group"].uuid])
    project = client.get_project(client.create_project("p", [created.dataset_hash]))
    (label_row,) = project.list_label_rows_v2()
    label_row.initialise_labels()
    units = sorted(
        label_row.to_encord_dict()["data_units"].values(), key=lambda u: u["data_sequence"]
    )
    assert [(u["width"], u["height"]) for u in units] == [(8, 4), (99, 77)]


def test_files_under_the_local_root(tmp_path: Path) -> None:
    (tmp_path / "bucket" / "d").mkdir(parents=True)
    (tmp_path / "bucket" / "d" / "x.png").write_bytes(png(13, 7, (0, 0, 0)))
    with EncordEmulator(local_root=tmp_path) as emulator:
        client = EncordUserClient.create_with_ssh_private_key(
            emulator.new_ssh_key(), domain=emulator.domain
        )
        integration = emulator.add_integration("s3", "s3")
        folder, _ = register(
            client, integration, {"images": [{"objectUrl": "s3://bucket/d/x.png"}]}
        )
        (item,) = folder.list_items()
    assert (item.width, item.height) == (13, 7)


def test_probing_can_be_turned_off(tmp_path: Path) -> None:
    (tmp_path / "bucket").mkdir()
    (tmp_path / "bucket" / "x.png").write_bytes(png(13, 7, (0, 0, 0)))
    with EncordEmulator(local_root=tmp_path, probe_media=False) as emulator:
        client = EncordUserClient.create_with_ssh_private_key(
            emulator.new_ssh_key(), domain=emulator.domain
        )
        integration = emulator.add_integration("s3", "s3")
        folder, _ = register(client, integration, {"images": [{"objectUrl": "s3://bucket/x.png"}]})
        (item,) = folder.list_items()
    assert (item.width, item.height, item.file_size) == (None, None, len(png(13, 7, (0, 0, 0))))


def test_keys_cannot_reach_outside_the_local_root(tmp_path: Path) -> None:
    verifier = ObjectVerifier(local_root=tmp_path / "root")
    assert verifier.locate("s3://bucket/d/x.png") == tmp_path / "root" / "bucket" / "d" / "x.png"
    assert verifier.locate("s3://bucket/../../etc/passwd") is None
    assert verifier.locate("s3://bucket/d/%2E%2E/%2E%2E/%2E%2E/etc/passwd") is None


def test_coco_export_of_a_branch_uses_the_real_image_size(
    s3_bucket: tuple[str, str], encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    client = encord_user_client
    urls = upload(s3_bucket, {"cams/a.png": png(640, 480, (1, 2, 3))})
    _, result = register(
        client, encord_integration, {"images": [{"objectUrl": urls["cams/a.png"]}]}
    )
    created = client.create_dataset("ds", StorageLocation.AWS, create_backing_folder=False)
    client.get_dataset(created.dataset_hash).link_items([result.items_with_names[0].item_uuid])
    structure = OntologyStructure()
    car = structure.add_object("Car", Shape.BOUNDING_BOX)
    ontology = client.create_ontology("cars", structure=structure).ontology_hash
    project = client.get_project(
        client.create_project("p", [created.dataset_hash], ontology_hash=ontology)
    )
    (row,) = project.list_label_rows_v2(branch_name="review")
    row.initialise_labels()
    instance = ObjectInstance(car)
    box = BoundingBoxCoordinates(height=0.1, width=0.2, top_left_x=0.3, top_left_y=0.4)
    instance.set_for_frames(box, frames=0)
    row.add_object_instance(instance)
    row.save()

    coco = project.export_coco_labels(branch_name="review")  # the SDK's own COCO exporter
    assert [(i["width"], i["height"]) for i in coco["images"]] == [(640, 480)]
    assert [a["bbox"] for a in coco["annotations"]] == [[192, 192, 128, 48]]
    assert project.export_coco_labels()["annotations"] == []  # main has no labels
