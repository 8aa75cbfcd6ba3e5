"""A few labels for the quick start, made through the SDK as an annotator's script would: a car
box on some images of the demo project, half of them moved to the Complete stage. The exports
then have something to write. Rows that already have objects are left alone.
"""

from __future__ import annotations

from encord import EncordUserClient
from encord.objects import LabelRowV2, Object
from encord.objects.coordinates import BoundingBoxCoordinates

IMAGES = 4  # rows labelled
COMPLETED = 2  # of which moved to Complete


def label_demo_rows(domain: str, ssh_key: str, project_title: str) -> int | None:
    """Label up to `IMAGES` image rows of the project; returns how many it labelled (0 when they
    are labelled already), or None when the project does not exist yet."""
    user = EncordUserClient.create_with_ssh_private_key(ssh_key, domain=domain)
    found = [p for p in user.list_projects(title_eq=project_title) if p.title == project_title]
    if not found:
        return None
    project = user.get_project(found[0].project_hash)
    rows = sorted(
        (r for r in project.list_label_rows_v2() if r.data_type.value == "image"),
        key=lambda r: r.data_title,
    )[:IMAGES]
    with project.create_bundle() as bundle:
        for row in rows:
            row.initialise_labels(bundle=bundle)
    todo = [row for row in rows if not row.get_object_instances()]
    car = project.ontology_structure.get_child_by_title("car", type_=Object)
    for n, row in enumerate(todo):
        box = car.create_instance()
        box.set_for_frames(
            BoundingBoxCoordinates(height=0.3, width=0.4, top_left_x=0.1 * n, top_left_y=0.2),
            frames=0,
        )
        row.add_object_instance(box)
    with project.create_bundle() as bundle:
        for row in todo:
            row.save(bundle=bundle)
    _complete(todo[:COMPLETED])
    return len(todo)


def _complete(rows: list[LabelRowV2]) -> None:
    for row in rows:
        row.workflow_complete()
