"""Label rows on several projects and branches through the SDK: listings by branch and across all
branches, creates on a branch, saves and gets that never mix, and the emulator's label-row index
kept right through creates, deletes and a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from encord import EncordUserClient
from encord.exceptions import InvalidArgumentsError
from encord.objects import OntologyStructure, Shape
from encord.objects.coordinates import BoundingBoxCoordinates
from encord.objects.ontology_labels_impl import LabelRowV2
from encord.objects.ontology_object import Object
from encord.objects.ontology_object_instance import ObjectInstance
from encord.project import Project

from dagster_encord.emulator import EncordEmulator
from tests.emulator.test_datasets_projects import make_dataset


def listing(project: Project, **filters: Any) -> list[tuple[str, str, bool]]:
    """(data title, branch, has a label row) of every listed row, sorted."""
    return sorted(
        (r.data_title, r.branch_name, r.label_hash is not None)
        for r in project.list_label_rows_v2(**filters)
    )


def by_title(project: Project, **filters: Any) -> dict[str, LabelRowV2]:
    return {r.data_title: r for r in project.list_label_rows_v2(**filters)}


def add_car(row: LabelRowV2, car: Object, x: float) -> None:
    instance = ObjectInstance(car)
    box = BoundingBoxCoordinates(height=0.1, width=0.1, top_left_x=x, top_left_y=0.1)
    instance.set_for_frames(box, frames=0)
    row.add_object_instance(instance)


def car_positions(row: LabelRowV2) -> list[float]:
    row.initialise_labels(overwrite=True)
    return [o.get_annotation(0).coordinates.top_left_x for o in row.get_object_instances()]


A, B, C = "/img00000.jpg", "/img00001.jpg", "/img00002.jpg"


def test_label_rows_of_two_projects_and_two_branches_stay_apart(tmp_path: Path) -> None:
    state = tmp_path / "encord.sqlite"
    with EncordEmulator(state_path=state) as emulator:
        key = emulator.new_ssh_key()
        client = EncordUserClient.create_with_ssh_private_key(key, domain=emulator.domain)
        structure = OntologyStructure()
        car = structure.add_object("Car", Shape.BOUNDING_BOX)
        ontology = client.create_ontology("cars", structure=structure).ontology_hash
        dataset, _ = make_dataset(client, emulator.add_integration("s3", "s3"), 3)
        first, second = (
            client.get_project(
                client.create_project(t, [dataset.dataset_hash], ontology_hash=ontology)
            )
            for t in ("first", "second")
        )

        main = by_title(first)
        with first.create_bundle() as bundle:
            for row in main.values():
                row.initialise_labels(bundle=bundle)
        add_car(main[A], car, 0.1)
        main[A].save()

        # A branch lists every data unit; none has a label row there yet.
        assert listing(first, branch_name="review") == [
            (A, "review", False),
            (B, "review", False),
            (C, "review", False),
        ]
        review = by_title(first, branch_name="review")
        with first.create_bundle() as bundle:  # one PUT carrying branch_name "review"
            for title in (A, B):
                review[title].initialise_labels(bundle=bundle)
        assert {review[t].branch_name for t in (A, B)} == {"review"}
        assert review[A].label_hash != main[A].label_hash
        add_car(review[B], car, 0.7)
        review[B].save()

        second_main = by_title(second)
        second_main[A].initialise_labels()

        expected_first = [
            (A, "main", True),
            (A, "review", True),
            (B, "main", True),
            (B, "review", True),
            (C, "main", True),
        ]
        expected_second = [(A, "main", True), (B, "main", False), (C, "main", False)]
        assert listing(first, include_all_label_branches=True) == expected_first
        assert listing(second, include_all_label_branches=True) == expected_second
        assert listing(first, branch_name="review") == [
            (A, "review", True),
            (B, "review", True),
            (C, "review", False),
        ]
        # Saves and gets address one label row: branches and projects never mix.
        assert car_positions(by_title(first)[A]) == [0.1]
        assert car_positions(by_title(first)[B]) == []
        assert car_positions(by_title(first, branch_name="review")[A]) == []
        assert car_positions(by_title(first, branch_name="review")[B]) == [0.7]
        assert car_positions(by_title(second)[A]) == []
        (only,) = first.list_label_rows_v2(
            include_all_label_branches=True, label_hashes=[review[B].label_hash]
        )
        assert (only.data_title, only.branch_name) == (B, "review")
        with pytest.raises(InvalidArgumentsError, match="branch_name cannot be combined"):
            first.list_label_rows_v2(include_all_label_branches=True, branch_name="review")

        # Deleting a data unit drops its label rows on every project and branch.
        dataset.delete_data([main[C].data_hash])
        assert listing(first, include_all_label_branches=True) == expected_first[:4]
        assert listing(second, include_all_label_branches=True) == expected_second[:2]
        assert emulator.describe()["labelRows"] == 5
    with EncordEmulator(state_path=state) as restarted:  # the index is rebuilt from the records
        client = EncordUserClient.create_with_ssh_private_key(key, domain=restarted.domain)
        first = client.get_project(first.project_hash)
        assert listing(first, include_all_label_branches=True) == expected_first[:4]
        assert car_positions(by_title(first, branch_name="review")[B]) == [0.7]
        created = by_title(client.get_project(second.project_hash))[B]
        created.initialise_labels()
        assert listing(client.get_project(second.project_hash)) == [
            (A, "main", True),
            (B, "main", True),
        ]
