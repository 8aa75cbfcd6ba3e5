"""The emulator's clock (frozen, moved on, back to real time) and what it stamps on label rows;
the `edited_after` / `edited_before` filters at the stored precision; and the task status of
label rows in manual-QA projects, through the SDK."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
from encord import EncordUserClient
from encord.exceptions import InvalidArgumentsError
from encord.objects.ontology_labels_impl import LabelRowV2
from encord.orm.label_row import AnnotationTaskStatus, LabelStatus
from encord.project import Project

from dagster_encord.emulator import EncordEmulator
from tests.emulator.test_datasets_projects import make_dataset


def manual_project(client: EncordUserClient, integration: str, count: int) -> Project:
    dataset, _ = make_dataset(client, integration, count)
    return client.get_project(client.create_project("manual", [dataset.dataset_hash]))


def at(seconds: int, microseconds: int = 0) -> datetime:
    """An instant on a day in the past, so real time comes after every frozen stamp."""
    return datetime(2025, 6, 2, 10, 0, seconds, microseconds, tzinfo=UTC)


def test_a_frozen_clock_stamps_label_rows_and_time_filters_are_exclusive(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    encord_emulator.freeze_clock("2025-06-02T10:00:00.250Z")
    project = manual_project(encord_user_client, encord_integration, 2)
    first, second = project.list_label_rows_v2()
    with project.create_bundle() as bundle:
        first.initialise_labels(bundle=bundle)
        second.initialise_labels(bundle=bundle)
    encord_emulator.advance_clock(1.5)  # 10:00:01.750
    first.save()

    listed = {r.data_hash: r for r in project.list_label_rows_v2()}
    saved, untouched = listed[first.data_hash], listed[second.data_hash]
    # The wire carries seconds: the stamps are the frozen instants, truncated.
    assert (saved.created_at, saved.last_edited_at) == (at(0), at(1))
    assert (untouched.created_at, untouched.last_edited_at) == (at(0), at(0))

    def edited(**window: datetime) -> list[str]:
        return [r.data_hash for r in project.list_label_rows_v2(**window)]

    # The server compares the stored 10:00:01.750000, both bounds exclusive.
    assert edited(edited_after=at(1)) == [first.data_hash]  # the wire stamp as a watermark
    assert edited(edited_after=at(1, 749_999)) == [first.data_hash]
    assert edited(edited_after=at(1, 750_000)) == []
    assert edited(edited_before=at(1, 750_000)) == [second.data_hash]
    assert edited(edited_before=at(1, 750_001)) == [first.data_hash, second.data_hash]
    assert edited(edited_after=at(0, 250_000), edited_before=at(1, 750_001)) == [first.data_hash]

    encord_emulator.unfreeze_clock()
    second.save()
    (now_edited,) = project.list_label_rows_v2(edited_after=at(2))
    assert now_edited.data_hash == second.data_hash
    assert abs((now_edited.last_edited_at - datetime.now(UTC)).total_seconds()) < 60


def test_the_clock_over_the_control_api(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    control = f"{encord_emulator.domain}/__emulator/clock"
    project = manual_project(encord_user_client, encord_integration, 1)

    def post(body: dict[str, object]) -> requests.Response:
        return requests.post(control, json=body, timeout=10)

    frozen = post({"frozenAt": "2025-06-02T10:00:00.250Z"}).json()
    assert frozen == {
        "frozenAt": "2025-06-02T10:00:00.250000Z",
        "now": "2025-06-02T10:00:00.250000Z",
    }
    assert post({"advanceSeconds": 1.5}).json()["now"] == "2025-06-02T10:00:01.750000Z"
    (row,) = project.list_label_rows_v2()
    row.initialise_labels()
    (stamped,) = project.list_label_rows_v2(edited_after=at(1, 749_999))
    assert stamped.created_at == at(1)

    refused = post({"advanceSeconds": -1})
    assert refused.status_code == 400 and "only moves forward" in refused.json()["message"]
    assert post({"frozenAt": "soon"}).status_code == 400
    assert post({"frozen_at": None}).status_code == 400  # unknown field, named in the message

    assert post({"frozenAt": None}).json()["frozenAt"] is None
    real = post({"advanceSeconds": 1})
    assert real.status_code == 400 and "real time" in real.json()["message"]

    post({"frozenAt": "2030-01-01T00:00:00Z"})
    requests.post(f"{encord_emulator.domain}/__emulator/reset", timeout=10)
    assert requests.get(control, timeout=10).json()["frozenAt"] is None


def save_with_status(row: LabelRowV2, status: str) -> None:
    """Save the row as `to_encord_dict()` with another label status (as an editor would)."""
    labels = row.to_encord_dict()
    labels["label_status"] = status
    row.from_labels_dict(labels)
    row.save()


def test_manual_qa_rows_take_their_task_status_from_the_label_status(
    encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    project = manual_project(encord_user_client, encord_integration, 5)
    rows = project.list_label_rows_v2()
    statuses = [None, "LABEL_IN_PROGRESS", "LABELLED", "REVIEWED", "REVIEWED_TWICE"]
    for row, status in zip(rows, statuses, strict=True):
        if status is not None:
            row.initialise_labels()
            save_with_status(row, status)

    listed = {r.data_hash: r for r in project.list_label_rows_v2()}
    assert [
        (listed[r.data_hash].label_status, listed[r.data_hash].annotation_task_status) for r in rows
    ] == [
        (LabelStatus.NOT_LABELLED, AnnotationTaskStatus.QUEUED),
        (LabelStatus.LABEL_IN_PROGRESS, AnnotationTaskStatus.ASSIGNED),
        (LabelStatus.LABELLED, AnnotationTaskStatus.IN_REVIEW),
        (LabelStatus.REVIEWED, AnnotationTaskStatus.COMPLETED),
        (LabelStatus.REVIEWED_TWICE, AnnotationTaskStatus.COMPLETED),
    ]
    completed = project.list_label_rows_v2(label_statuses=[AnnotationTaskStatus.COMPLETED])
    assert {r.data_hash for r in completed} == {rows[3].data_hash, rows[4].data_hash}
    queued_or_assigned = project.list_label_rows_v2(
        label_statuses=[AnnotationTaskStatus.QUEUED, AnnotationTaskStatus.ASSIGNED]
    )
    assert [r.data_hash for r in queued_or_assigned] == [rows[0].data_hash, rows[1].data_hash]

    labels = rows[1].to_encord_dict()
    labels["label_status"] = "DONE"
    with pytest.raises(InvalidArgumentsError, match="label_status 'DONE' is not one of"):
        project.save_label_row(rows[1].label_hash, labels)
    (unchanged,) = project.list_label_rows_v2(data_hashes=[rows[1].data_hash])
    assert unchanged.label_status == LabelStatus.LABEL_IN_PROGRESS
