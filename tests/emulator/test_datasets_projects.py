"""Datasets, projects, ontologies and label rows through the SDK."""

from __future__ import annotations

from datetime import UTC, datetime

from encord import EncordUserClient
from encord.objects import OntologyStructure, Shape
from encord.objects.coordinates import BoundingBoxCoordinates
from encord.objects.ontology_object_instance import ObjectInstance
from encord.orm.dataset import DatasetAccessSettings, StorageLocation

from dagster_encord.emulator import EncordEmulator
from tests.emulator.test_storage import register_images


def make_dataset(client: EncordUserClient, integration: str, count: int):  # type: ignore[no-untyped-def]
    folder = client.create_storage_folder("for-dataset")
    result = register_images(client, folder, integration, count)
    created = client.create_dataset("ds", StorageLocation.AWS, create_backing_folder=False)
    dataset = client.get_dataset(created.dataset_hash)
    rows = dataset.link_items([i.item_uuid for i in result.items_with_names])
    return dataset, rows


def test_dataset_link_rows_and_client_metadata(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    dataset, rows = make_dataset(encord_user_client, encord_integration, 3)
    assert len(rows) == 3
    assert dataset.link_items([rows[0].backing_item_uuid]) == []  # SKIP duplicates by default
    fetched = encord_user_client.get_dataset(dataset.dataset_hash)
    assert (fetched.title, fetched.storage_location) == ("ds", StorageLocation.AWS)
    assert sorted(r.title for r in fetched.data_rows) == [
        "/img00000.jpg",
        "/img00001.jpg",
        "/img00002.jpg",
    ]
    assert [r.title for r in fetched.list_data_rows(title_eq="/img00001.jpg")] == ["/img00001.jpg"]
    fetched.set_access_settings(DatasetAccessSettings(fetch_client_metadata=True))
    by_title = {r.title: r for r in fetched.data_rows}
    assert dict(by_title["/img00002.jpg"].client_metadata) == {"n": 2}
    item = encord_user_client.get_storage_item(by_title["/img00002.jpg"].backing_item_uuid)
    assert item.backed_data_units_count == 1


def test_project_with_ontology_datasets_and_label_rows(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    client = encord_user_client
    structure = OntologyStructure()
    car = structure.add_object("Car", Shape.BOUNDING_BOX)
    ontology = client.create_ontology("cars", structure=structure)
    assert client.get_ontology(ontology.ontology_hash).structure.objects[0].name == "Car"
    dataset, _ = make_dataset(client, encord_integration, 4)
    project_hash = client.create_project(
        "p", [dataset.dataset_hash], ontology_hash=ontology.ontology_hash
    )
    project = client.get_project(project_hash)
    assert [d.title for d in project.list_datasets()] == ["ds"]
    rows = project.list_label_rows_v2()
    assert len(rows) == 4 and all(r.label_hash is None for r in rows)
    before_save = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
    encord_emulator.freeze_clock(before_save)
    encord_emulator.advance_clock(0.001)
    with project.create_bundle() as bundle:
        for row in rows:
            row.initialise_labels(bundle=bundle)
    first = rows[0]
    instance = ObjectInstance(car)
    instance.set_for_frames(
        BoundingBoxCoordinates(height=0.1, width=0.2, top_left_x=0.3, top_left_y=0.4), frames=0
    )
    first.add_object_instance(instance)
    first.save()
    edited = project.list_label_rows_v2(edited_after=before_save)
    assert len(edited) == 4  # every row got a label row after before_save
    again = project.list_label_rows_v2(data_hashes=[first.data_hash])[0]
    again.initialise_labels()
    (restored,) = again.get_object_instances()
    assert restored.object_hash == instance.object_hash
    assert restored.get_annotation(0).coordinates.top_left_x == 0.3

    other, _ = make_dataset(client, encord_integration, 2)
    project.add_datasets([other.dataset_hash])
    assert len(project.list_label_rows_v2()) == 6
    project.remove_datasets([other.dataset_hash])
    assert len(project.list_label_rows_v2()) == 4


def test_edited_after_filter_selects_recent_saves(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    dataset, _ = make_dataset(encord_user_client, encord_integration, 3)
    project = encord_user_client.get_project(
        encord_user_client.create_project("q", [dataset.dataset_hash])
    )
    rows = project.list_label_rows_v2()
    cutoff = datetime(2025, 6, 2, 10, 0, 0, 500_000, tzinfo=UTC)
    encord_emulator.freeze_clock(cutoff)
    with project.create_bundle() as bundle:
        for row in rows:
            row.initialise_labels(bundle=bundle)
    encord_emulator.advance_clock(0.001)
    rows[1].save()
    assert [r.data_hash for r in project.list_label_rows_v2(edited_after=cutoff)] == [
        rows[1].data_hash
    ]


def test_image_group_label_rows_have_one_unit_per_image(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    client = encord_user_client
    folder = client.create_storage_folder("groups")
    spec = {
        "image_groups": [
            {"title": "g", "objectUrl_0": "s3://b/1.jpg", "objectUrl_1": "s3://b/2.jpg"}
        ]
    }
    job = folder.add_private_data_to_folder_start(encord_integration, spec)
    item_uuid = folder.add_private_data_to_folder_get_result(job).items_with_names[0].item_uuid
    created = client.create_dataset("groups", StorageLocation.AWS)
    client.get_dataset(created.dataset_hash).link_items([item_uuid])
    structure = OntologyStructure()
    car = structure.add_object("Car", Shape.BOUNDING_BOX)
    ontology = client.create_ontology("groups", structure=structure)
    project = client.get_project(
        client.create_project("g", [created.dataset_hash], ontology_hash=ontology.ontology_hash)
    )
    (row,) = project.list_label_rows_v2()
    assert row.number_of_frames == 2
    row.initialise_labels()
    instance = ObjectInstance(car)
    instance.set_for_frames(
        BoundingBoxCoordinates(height=0.1, width=0.1, top_left_x=0.5, top_left_y=0.5), frames=1
    )
    row.add_object_instance(instance)
    row.save()
    (again,) = project.list_label_rows_v2()
    again.initialise_labels()
    (restored,) = again.get_object_instances()
    assert [a.frame for a in restored.get_annotations()] == [1]


def test_label_row_get_by_hash_filters_features_and_single_save(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    client = encord_user_client
    structure = OntologyStructure()
    car = structure.add_object("Car", Shape.BOUNDING_BOX)
    person = structure.add_object("Person", Shape.BOUNDING_BOX)
    ontology = client.create_ontology("two", structure=structure)
    dataset, _ = make_dataset(client, encord_integration, 1)
    project = client.get_project(
        client.create_project("f", [dataset.dataset_hash], ontology_hash=ontology.ontology_hash)
    )
    (row,) = project.list_label_rows_v2()
    row.initialise_labels()
    for feature in (car, person):
        instance = ObjectInstance(feature)
        box = BoundingBoxCoordinates(height=0.1, width=0.1, top_left_x=0.1, top_left_y=0.1)
        instance.set_for_frames(box, frames=0)
        row.add_object_instance(instance)
    row.save()
    whole = project.get_label_row(row.label_hash)
    assert len(whole["object_answers"]) == 2
    only_cars = project.get_label_row(
        row.label_hash, include_object_feature_hashes={car.feature_node_hash}
    )
    (unit,) = only_cars["data_units"].values()
    assert [o["name"] for o in unit["labels"]["objects"]] == ["Car"]
    assert len(only_cars["object_answers"]) == 1
    assert len(project.get_label_row(row.label_hash)["object_answers"]) == 2  # stored labels intact
    unit["labels"]["objects"] = []
    only_cars["object_answers"] = {}
    project.save_label_row(row.label_hash, only_cars)  # the deprecated single-row save
    (again,) = project.get_label_rows([row.label_hash])
    assert again["object_answers"] == {}


def test_label_rows_initialise_and_save_for_every_data_type(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    s3 = "https://bucket.s3.eu-west-2.amazonaws.com"
    spec = {
        "videos": [{"objectUrl": f"{s3}/v.mp4"}],
        "audio": [
            {"objectUrl": f"{s3}/a.mp3", "audioMetadata": {"codec": "mp3", "sample_rate": 44100}}
        ],
        "pdfs": [{"objectUrl": f"{s3}/d.pdf"}],
        "text": [{"objectUrl": f"{s3}/t.txt"}],
        "images": [{"objectUrl": f"{s3}/i.png"}],
        "image_groups": [
            {"title": "g", "objectUrl_0": f"{s3}/g/1.jpg", "objectUrl_1": f"{s3}/g/2.jpg"},
            {"title": "s", "createVideo": True, "objectUrl_0": f"{s3}/s/1.jpg"},
        ],
        "dicom_series": [{"title": "dcm", "objectUrl_0": f"{s3}/d/1.dcm"}],
        "nifti": [{"objectUrl": f"{s3}/n.nii.gz"}],
    }
    folder = encord_user_client.create_storage_folder("every-type")
    job = folder.add_private_data_to_folder_start(encord_integration, spec)
    result = folder.add_private_data_to_folder_get_result(job)
    created = encord_user_client.create_dataset("every-type", StorageLocation.AWS)
    dataset = encord_user_client.get_dataset(created.dataset_hash)
    dataset.link_items([i.item_uuid for i in result.items_with_names])
    project = encord_user_client.get_project(
        encord_user_client.create_project("every-type", [created.dataset_hash])
    )
    rows = project.list_label_rows_v2()
    assert len(rows) == 9
    with project.create_bundle() as bundle:
        for row in rows:
            row.initialise_labels(bundle=bundle)
    with project.create_bundle() as bundle:
        for row in rows:
            row.save(bundle=bundle)
    exported = {}
    for row in project.list_label_rows_v2():
        row.initialise_labels()
        exported[row.data_title] = row.to_encord_dict()
    assert exported["g"]["data_type"] == "img_group" and len(exported["g"]["data_units"]) == 2
    assert exported["/a.mp3"]["data_type"] == "audio"
    assert exported["dcm"]["data_type"] == "dicom"


def test_project_and_ontology_listings_filter_by_title(
    encord_user_client: EncordUserClient,
) -> None:
    client = encord_user_client
    shared = client.create_ontology("shared").ontology_hash
    for title in ("cams", "cams-old", "roads"):
        client.create_ontology(f"{title} ontology")
        client.create_project(title, [], ontology_hash=shared)
    assert [p.title for p in client.list_projects(title_eq="cams")] == ["cams"]
    assert sorted(p.title for p in client.list_projects(title_like="cams%")) == [
        "cams",
        "cams-old",
    ]
    assert [p.title for p in client.list_projects(title_eq="nothing")] == []
    assert [o["ontology"].title for o in client.get_ontologies(title_eq="roads ontology")] == [
        "roads ontology"
    ]
    assert sorted(o["ontology"].title for o in client.get_ontologies(title_like="cams%")) == [
        "cams ontology",
        "cams-old ontology",
    ]
