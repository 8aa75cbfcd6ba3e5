"""Workflow tasks moved from label rows (`workflow_complete` / `workflow_reopen`) and batches of
task actions that the emulator checks whole."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from encord import EncordUserClient
from encord.exceptions import InvalidArgumentsError, WrongProjectTypeError
from encord.orm.label_row import AnnotationTaskStatus as LabelTaskStatus
from encord.workflow import AnnotationStage, FinalStage
from encord.workflow.stages.annotation import AnnotationTaskStatus

from dagster_encord.emulator import EncordEmulator
from tests.emulator.test_datasets_projects import make_dataset
from tests.emulator.test_workflow import workflow_project


@pytest.fixture(autouse=True)
def every_call_routed(encord_emulator: EncordEmulator) -> Iterator[None]:
    yield
    assert [k for k in encord_emulator.counters() if k.startswith("unrouted")] == []


def test_label_rows_complete_and_reopen_their_tasks(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    dataset, _ = make_dataset(encord_user_client, encord_integration, 2)
    project = workflow_project(encord_user_client, [dataset.dataset_hash])
    annotate = project.workflow.get_stage(name="Annotate 1", type_=AnnotationStage)
    complete = project.workflow.get_stage(name="Complete", type_=FinalStage)
    rows = {r.data_title: r for r in project.list_label_rows_v2()}
    with project.create_bundle() as bundle:
        for row in rows.values():
            row.initialise_labels(bundle=bundle)
    with project.create_bundle() as bundle:
        for row in rows.values():
            row.workflow_complete(bundle=bundle)
    assert sorted(t.data_title for t in complete.get_tasks()) == ["/img00000.jpg", "/img00001.jpg"]
    rows["/img00001.jpg"].workflow_reopen()
    (reopened,) = annotate.get_tasks()
    assert (reopened.data_title, reopened.status) == (
        "/img00001.jpg",
        AnnotationTaskStatus.REOPENED,
    )
    (row,) = project.list_label_rows_v2(workflow_graph_node_title_eq="Annotate 1")
    assert row.data_title == "/img00001.jpg"

    manual = encord_user_client.get_project(
        encord_user_client.create_project("manual", [dataset.dataset_hash])
    )
    (manual_row, _) = manual.list_label_rows_v2()
    manual_row.initialise_labels()
    with pytest.raises(WrongProjectTypeError):
        manual_row.workflow_complete()


def test_rows_completed_from_the_label_row_list_as_completed_in_the_complete_stage(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    dataset, _ = make_dataset(encord_user_client, encord_integration, 3)
    project = workflow_project(encord_user_client, [dataset.dataset_hash])
    rows = project.list_label_rows_v2()
    with project.create_bundle() as bundle:
        for row in rows:
            row.initialise_labels(bundle=bundle)
    with project.create_bundle() as bundle:
        for row in rows[:2]:
            row.workflow_complete(bundle=bundle)
    rows[1].workflow_reopen()

    def listed(**filters: Any) -> list[tuple[str, str]]:
        return [
            (r.data_title, r.workflow_graph_node.title)
            for r in project.list_label_rows_v2(**filters)
        ]

    assert listed(label_statuses=[LabelTaskStatus.COMPLETED]) == [("/img00000.jpg", "Complete")]
    assert listed(workflow_graph_node_title_eq="Complete") == [("/img00000.jpg", "Complete")]
    assert listed(label_statuses=[LabelTaskStatus.RETURNED]) == [("/img00001.jpg", "Annotate 1")]
    assert listed(label_statuses=[LabelTaskStatus.QUEUED]) == [("/img00002.jpg", "Annotate 1")]
    assert (
        listed(
            label_statuses=[LabelTaskStatus.COMPLETED], workflow_graph_node_title_eq="Annotate 1"
        )
        == []
    )


def test_a_batch_of_actions_is_checked_before_any_task_changes(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    dataset, _ = make_dataset(encord_user_client, encord_integration, 2)
    project = workflow_project(encord_user_client, [dataset.dataset_hash])
    annotate = project.workflow.get_stage(name="Annotate 1", type_=AnnotationStage)
    first, second = annotate.get_tasks()
    with (
        pytest.raises(InvalidArgumentsError, match="earlier in this batch"),
        project.create_bundle() as bundle,
    ):
        first.assign("ann@example.com", bundle=bundle)
        second.submit(bundle=bundle)
        second.submit(bundle=bundle)  # would push it on twice
    assert {(t.status, t.assignee) for t in annotate.get_tasks()} == {
        (AnnotationTaskStatus.NEW, None)
    }
    with project.create_bundle() as bundle:  # assign then submit the same task: fine
        first.assign("ann@example.com", bundle=bundle)
        first.submit(retain_assignee=True, bundle=bundle)
    assert [t.uuid for t in annotate.get_tasks()] == [second.uuid]


def test_submit_from_the_last_stage_is_refused_without_changes(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    template = encord_emulator.add_workflow_template(
        "rework last", [("Label", "ANNOTATION"), ("Done", "DONE"), ("Rework", "ANNOTATION")]
    )
    dataset, _ = make_dataset(encord_user_client, encord_integration, 2)
    project = workflow_project(encord_user_client, [dataset.dataset_hash], template)
    label = project.workflow.get_stage(name="Label", type_=AnnotationStage)
    rework = project.workflow.get_stage(name="Rework", type_=AnnotationStage)
    for task in label.get_tasks():
        task.move(destination_stage_uuid=rework.uuid)
    first, second = rework.get_tasks()
    first.assign("ann@example.com")
    with (
        pytest.raises(InvalidArgumentsError, match="last stage"),
        project.create_bundle() as bundle,
    ):
        second.assign("bob@example.com", bundle=bundle)
        first.submit(bundle=bundle)
    assert sorted((t.data_title, t.assignee) for t in rework.get_tasks()) == [
        ("/img00000.jpg", "ann@example.com"),
        ("/img00001.jpg", None),
    ]
