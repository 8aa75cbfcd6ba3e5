"""Workflow projects through the real SDK: templates, stages, tasks, actions, moves, reviews,
task analytics and the label rows' workflow graph node."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from encord import EncordUserClient, Project
from encord.analytics import TaskActionType
from encord.exceptions import AuthorisationError, InvalidArgumentsError
from encord.objects import OntologyStructure, Shape
from encord.objects.coordinates import BoundingBoxCoordinates
from encord.objects.ontology_object_instance import ObjectInstance
from encord.orm.project import ProjectType
from encord.orm.workflow import WorkflowStageType
from encord.workflow import AnnotationStage, FinalStage, ReviewStage
from encord.workflow.stages.annotation import AnnotationTaskStatus
from encord.workflow.stages.review import LabelReviewStatus, ReviewTaskStatus

from dagster_encord.emulator import DEFAULT_WORKFLOW_TEMPLATE_UUID, EncordEmulator
from tests.emulator.test_datasets_projects import make_dataset
from tests.emulator.test_storage import register_images

TASKS_ENDPOINT = "GET /v2/public/projects/{project_hash}/workflow/stages/{stage_uuid}/tasks"
ANALYTICS_ENDPOINT = "GET /v2/public/analytics/task-actions"
DONE_UUID = "00000000-0000-4000-b000-00000000000d"


@pytest.fixture(autouse=True)
def every_call_routed(encord_emulator: EncordEmulator) -> Iterator[None]:
    yield
    assert [k for k in encord_emulator.counters() if k.startswith("unrouted")] == []


def workflow_project(
    client: EncordUserClient,
    dataset_hashes: list[str],
    template: str = DEFAULT_WORKFLOW_TEMPLATE_UUID,
    ontology_hash: str = "",
) -> Project:
    return client.get_project(
        client.create_project(
            "wf", dataset_hashes, ontology_hash=ontology_hash, workflow_template_hash=template
        )
    )


def stages(project: Project) -> tuple[AnnotationStage, ReviewStage, FinalStage]:
    workflow = project.workflow
    return (
        workflow.get_stage(name="Annotate 1", type_=AnnotationStage),
        workflow.get_stage(name="Review 1", type_=ReviewStage),
        workflow.get_stage(name="Complete", type_=FinalStage),
    )


def test_default_template_gives_a_workflow_project_with_a_task_per_data_unit(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    dataset, rows = make_dataset(encord_user_client, encord_integration, 3)
    project = workflow_project(encord_user_client, [dataset.dataset_hash])
    assert project.project_type == ProjectType.WORKFLOW
    assert [(str(s.uuid), s.title, s.stage_type) for s in project.workflow.stages] == [
        ("00000000-0000-4000-a000-000000000011", "Annotate 1", WorkflowStageType.ANNOTATION),
        ("00000000-0000-4000-a000-000000000012", "Review 1", WorkflowStageType.REVIEW),
        ("00000000-0000-4000-a000-000000000013", "Complete", WorkflowStageType.DONE),
    ]
    annotate, review, complete = stages(project)
    tasks = list(annotate.get_tasks())
    assert sorted((str(t.data_hash), t.data_title) for t in tasks) == sorted(
        (r.uid, r.title) for r in rows
    )
    assert {(t.status, t.assignee, t.label_branch_name) for t in tasks} == {
        (AnnotationTaskStatus.NEW, None, "main")
    }
    assert list(review.get_tasks()) == [] and list(complete.get_tasks()) == []
    label_rows = project.list_label_rows_v2()
    assert {(r.workflow_graph_node.uuid, r.workflow_graph_node.title) for r in label_rows} == {
        ("00000000-0000-4000-a000-000000000011", "Annotate 1")
    }
    assert sorted(str(r.task_uuid) for r in label_rows) == sorted(str(t.uuid) for t in tasks)
    # a project without a template stays manual QA, as before
    manual = encord_user_client.get_project(
        encord_user_client.create_project("manual", [dataset.dataset_hash])
    )
    assert manual.project_type == ProjectType.MANUAL_QA
    assert [r.workflow_graph_node for r in manual.list_label_rows_v2()] == [None] * 3


def test_unknown_template_is_refused_like_encord(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient
) -> None:
    with pytest.raises(AuthorisationError):
        encord_user_client.create_project(
            "nope", [], workflow_template_hash="00000000-0000-4000-a000-0000000000ff"
        )
    assert encord_emulator.describe()["projects"] == 0
    assert encord_emulator.describe()["ontologies"] == 0  # refused before anything was made


def test_templates_added_through_python_and_control_api(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient
) -> None:
    python_template = encord_emulator.add_workflow_template(
        "two reviews",
        [("Label", "ANNOTATION"), ("QA", "REVIEW"), ("Second QA", "REVIEW"), ("Done", "DONE")],
    )
    answer = requests.post(
        f"{encord_emulator.domain}/__emulator/workflow-templates",
        json={
            "title": "no review",
            "stages": [
                {"title": "Label", "stageType": "ANNOTATION"},
                {
                    "title": "Done",
                    "stageType": "DONE",
                    "uuid": "00000000-0000-4000-b000-00000000000d",
                },
            ],
        },
        timeout=10,
    )
    assert answer.status_code == 200
    http_template = answer.json()["uuid"]
    listed = requests.get(
        f"{encord_emulator.domain}/__emulator/workflow-templates", timeout=10
    ).json()
    assert [t["uuid"] for t in listed] == [
        DEFAULT_WORKFLOW_TEMPLATE_UUID,
        python_template,
        http_template,
    ]

    project = workflow_project(encord_user_client, [], python_template)
    assert [(s.title, s.stage_type) for s in project.workflow.stages] == [
        ("Label", WorkflowStageType.ANNOTATION),
        ("QA", WorkflowStageType.REVIEW),
        ("Second QA", WorkflowStageType.REVIEW),
        ("Done", WorkflowStageType.DONE),
    ]
    other = workflow_project(encord_user_client, [], http_template)
    assert [(str(s.uuid), s.title) for s in other.workflow.stages][1] == (
        DONE_UUID,
        "Done",
    )

    with pytest.raises(ValueError, match="first stage"):
        encord_emulator.add_workflow_template("bad", [("QA", "REVIEW"), ("Done", "DONE")])
    refused = requests.post(
        f"{encord_emulator.domain}/__emulator/workflow-templates",
        json={"title": "router", "stages": [{"title": "R", "stageType": "USER_ROUTER"}]},
        timeout=10,
    )
    assert refused.status_code == 400 and "USER_ROUTER" in refused.json()["message"]


def test_tasks_follow_the_data_attached_to_the_project(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    client = encord_user_client
    first, _ = make_dataset(client, encord_integration, 2)
    project = workflow_project(client, [first.dataset_hash])
    annotate, _, _ = stages(project)
    assert len(list(annotate.get_tasks())) == 2

    second, second_rows = make_dataset(client, encord_integration, 3)
    project.add_datasets([second.dataset_hash])
    assert len(list(annotate.get_tasks())) == 5
    assert {str(t.data_hash) for t in annotate.get_tasks(dataset_hash=second.dataset_hash)} == {
        r.uid for r in second_rows
    }

    folder = client.create_storage_folder("late")
    late = register_images(client, folder, encord_integration, 1, prefix="late")
    (linked,) = second.link_items([late.items_with_names[0].item_uuid])
    assert [t.data_title for t in annotate.get_tasks(data_hash=linked.uid)] == ["/late00000.jpg"]

    project.remove_datasets([second.dataset_hash])
    assert len(list(annotate.get_tasks())) == 2
    assert len(project.list_label_rows_v2()) == 2


def test_assign_submit_approve_reject_release_and_the_graph_node(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    dataset, rows = make_dataset(encord_user_client, encord_integration, 3)
    project = workflow_project(encord_user_client, [dataset.dataset_hash])
    annotate, review, complete = stages(project)
    by_title = {t.data_title: t for t in annotate.get_tasks()}
    first, second, third = (by_title[f"/img0000{n}.jpg"] for n in range(3))

    first.assign("ann@example.com")
    second.assign("ann@example.com")
    third.assign("bob@example.com")
    third.release()
    assert sorted(t.data_title for t in annotate.get_tasks(assignee="ann@example.com")) == [
        "/img00000.jpg",
        "/img00001.jpg",
    ]
    (released,) = annotate.get_tasks(status=AnnotationTaskStatus.RELEASED)
    assert (released.data_title, released.assignee) == ("/img00002.jpg", None)

    with project.create_bundle() as bundle:
        first.submit(bundle=bundle)
        second.submit(retain_assignee=True, bundle=bundle)
    assert [t.data_title for t in annotate.get_tasks()] == ["/img00002.jpg"]
    in_review = {t.data_title: t for t in review.get_tasks()}
    assert sorted(in_review) == ["/img00000.jpg", "/img00001.jpg"]
    assert {t.status for t in in_review.values()} == {ReviewTaskStatus.NEW}

    nodes = {r.data_title: r.workflow_graph_node.title for r in project.list_label_rows_v2()}
    assert nodes == {
        "/img00000.jpg": "Review 1",
        "/img00001.jpg": "Review 1",
        "/img00002.jpg": "Annotate 1",
    }
    assert sorted(
        r.data_title for r in project.list_label_rows_v2(workflow_graph_node_title_eq="Review 1")
    ) == ["/img00000.jpg", "/img00001.jpg"]
    assert [
        r.data_title for r in project.list_label_rows_v2(workflow_graph_node_title_like="%nnot%")
    ] == ["/img00002.jpg"]

    in_review["/img00000.jpg"].approve()
    in_review["/img00001.jpg"].reject()
    assert [t.data_title for t in complete.get_tasks()] == ["/img00000.jpg"]
    (returned,) = annotate.get_tasks(status=AnnotationTaskStatus.REOPENED)
    assert returned.data_title == "/img00001.jpg"
    (done_row,) = project.list_label_rows_v2(workflow_graph_node_title_eq="Complete")
    assert done_row.data_hash == next(r.uid for r in rows if r.title == "/img00000.jpg")

    returned.submit()
    with pytest.raises(InvalidArgumentsError, match="not in stage"):
        returned.submit()  # a stale handle: the task is in Review 1 now
    unassigned = next(iter(annotate.get_tasks(status=AnnotationTaskStatus.RELEASED)))
    with pytest.raises(InvalidArgumentsError, match="no assignee"):
        unassigned.submit(retain_assignee=True)


def test_label_reviews_open_for_the_saved_labels(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    client = encord_user_client
    structure = OntologyStructure()
    car = structure.add_object("Car", Shape.BOUNDING_BOX)
    ontology = client.create_ontology("cars", structure=structure)
    dataset, _ = make_dataset(client, encord_integration, 1)
    project = workflow_project(client, [dataset.dataset_hash], ontology_hash=ontology.ontology_hash)
    (row,) = project.list_label_rows_v2()
    row.initialise_labels()
    instance = ObjectInstance(car)
    instance.set_for_frames(
        BoundingBoxCoordinates(height=0.1, width=0.2, top_left_x=0.3, top_left_y=0.4), frames=0
    )
    row.add_object_instance(instance)
    row.save()
    annotate, review, _ = stages(project)
    (task,) = annotate.get_tasks()
    task.submit()
    (review_task,) = review.get_tasks()
    (label_review,) = review_task.get_label_reviews()
    assert (label_review.label_id, label_review.label_type, label_review.status) == (
        instance.object_hash,
        "Object",
        LabelReviewStatus.NEW,
    )
    label_review.reject(comment="too small")
    assert [r.status for r in review_task.get_label_reviews()] == [LabelReviewStatus.REJECTED]
    label_review.reopen()
    label_review.approve()
    assert [r.status for r in review_task.get_label_reviews()] == [LabelReviewStatus.APPROVED]


def test_many_tasks_page_move_in_bundles_of_500_and_show_in_task_analytics(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    dataset, _ = make_dataset(encord_user_client, encord_integration, 501)
    project = workflow_project(encord_user_client, [dataset.dataset_hash])
    annotate, review, complete = stages(project)
    encord_emulator.reset_counters()
    tasks = list(annotate.get_tasks())
    assert len({t.uuid for t in tasks}) == 501
    assert encord_emulator.counters()[TASKS_ENDPOINT] == 6  # pages of 100

    with (
        pytest.raises(InvalidArgumentsError, match="at most 500"),
        project.create_bundle(bundle_size=501) as bundle,
    ):
        for task in tasks:
            task.move(destination_stage_uuid=complete.uuid, bundle=bundle)
    assert list(complete.get_tasks()) == []  # the refused move changed nothing

    before_moves = datetime.now(UTC)
    with project.create_bundle() as bundle:  # the SDK splits it: 500 + 1
        for task in tasks:
            task.move(destination_stage_uuid=complete.uuid, bundle=bundle)
    after_moves = datetime.now(UTC)
    assert len(list(complete.get_tasks())) == 501
    (moved_back,) = complete.get_tasks(data_title="00007")
    moved_back.move(destination_stage_uuid=review.uuid)
    assert [t.data_title for t in review.get_tasks()] == ["/img00007.jpg"]
    (moved_row,) = project.list_label_rows_v2(data_hashes=[str(moved_back.data_hash)])
    assert moved_row.workflow_graph_node.title == "Review 1"

    encord_emulator.reset_counters()
    moves = list(project.get_task_actions(after=before_moves, before=after_moves))
    assert len(moves) == 501 and encord_emulator.counters()[ANALYTICS_ENDPOINT] == 6
    assert {(m.action_type.value, str(m.workflow_stage_uuid)) for m in moves} == {
        ("move", "00000000-0000-4000-a000-000000000011")
    }
    assert {m.task_uuid for m in moves} == {t.uuid for t in tasks}
    (latest,) = project.get_task_actions(after=after_moves)
    assert (latest.task_uuid, str(latest.workflow_stage_uuid), latest.actor_email) == (
        moved_back.uuid,
        "00000000-0000-4000-a000-000000000013",
        "user@example.com",
    )
    from_complete = project.get_task_actions(after=before_moves, workflow_stage_uuid=complete.uuid)
    assert [m.task_uuid for m in from_complete] == [moved_back.uuid]
    assert (
        list(project.get_task_actions(after=before_moves, action_type=TaskActionType.SUBMIT)) == []
    )


def test_templates_and_tasks_survive_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "encord.sqlite"
    with EncordEmulator(state_file) as emulator:
        key = emulator.new_ssh_key()
        integration = emulator.add_integration("s3", "s3")
        template = emulator.add_workflow_template(
            "short", [("Label", "ANNOTATION"), ("Done", "DONE")]
        )
        client = EncordUserClient.create_with_ssh_private_key(key, domain=emulator.domain)
        dataset, _ = make_dataset(client, integration, 2)
        project = workflow_project(client, [dataset.dataset_hash], template)
        label = project.workflow.get_stage(name="Label", type_=AnnotationStage)
        first = next(iter(label.get_tasks(data_title="00000")))
        first.assign("ann@example.com")
        first.submit()
        assert not [k for k in emulator.counters() if k.startswith("unrouted")]
    with EncordEmulator(state_file) as emulator:
        client = EncordUserClient.create_with_ssh_private_key(key, domain=emulator.domain)
        again = client.get_project(project.project_hash)
        label = again.workflow.get_stage(name="Label", type_=AnnotationStage)
        done = again.workflow.get_stage(name="Done", type_=FinalStage)
        assert [t.data_title for t in label.get_tasks()] == ["/img00001.jpg"]
        assert [t.uuid for t in done.get_tasks()] == [first.uuid]
        assert [t["uuid"] for t in emulator.workflow_templates()][1] == template
        project_actions = again.get_task_actions(after=datetime(2020, 1, 1, tzinfo=UTC))
        assert [a.action_type for a in project_actions] == [
            TaskActionType.ASSIGN,
            TaskActionType.SUBMIT,
        ]
        assert not [k for k in emulator.counters() if k.startswith("unrouted")]
