"""Labels made the way a user's script makes them: `LabelRowV2` through the real SDK."""

from __future__ import annotations

from collections.abc import Sequence

from encord.objects import LabelRowV2, Object
from encord.objects.coordinates import (
    BoundingBoxCoordinates,
    PointCoordinate,
    PolygonCoordinates,
)
from encord.project import Project


def rows_by_hash(project: Project, data_hashes: Sequence[str] | None = None) -> list[LabelRowV2]:
    rows = project.list_label_rows_v2(data_hashes=list(data_hashes) if data_hashes else None)
    with project.create_bundle() as bundle:
        for row in rows:
            row.initialise_labels(bundle=bundle)
    return rows


def label(
    project: Project, data_hashes: Sequence[str] | None = None, *, cars: int = 1, people: int = 1
) -> list[LabelRowV2]:
    """Add `cars` boxes and `people` polygons to each row (all rows when no hashes) and save."""
    ontology = project.ontology_structure
    car = ontology.get_child_by_title("car", type_=Object)
    person = ontology.get_child_by_title("person", type_=Object)
    rows = rows_by_hash(project, data_hashes)
    for row in rows:
        for n in range(cars):
            box = car.create_instance()
            box.set_for_frames(
                BoundingBoxCoordinates(height=0.1, width=0.2, top_left_x=0.05 * n, top_left_y=0.3),
                frames=0,
            )
            row.add_object_instance(box)
        for n in range(people):
            polygon = person.create_instance()
            polygon.set_for_frames(
                PolygonCoordinates(
                    [
                        PointCoordinate(0.1 + 0.01 * n, 0.1),
                        PointCoordinate(0.4, 0.1),
                        PointCoordinate(0.4, 0.5),
                    ]
                ),
                frames=0,
            )
            row.add_object_instance(polygon)
    with project.create_bundle() as bundle:
        for row in rows:
            row.save(bundle=bundle)
    return rows
