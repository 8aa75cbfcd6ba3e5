"""Project roles through the SDK: a project is visible to the users given a role on it; the calls
the pipeline makes (get project, add_datasets, list label rows) answer Encord's 403
AUTHORISATION_ERROR to others, and adding datasets or users needs the admin role."""

from __future__ import annotations

import pytest
from encord import EncordUserClient
from encord.exceptions import AuthorisationError
from encord.utilities.project_user import ProjectUserRole

from dagster_encord.emulator import EncordEmulator
from tests.emulator.test_datasets_projects import make_dataset

OTHER = "other@example.com"


def test_project_calls_need_a_role_on_the_project(
    encord_emulator: EncordEmulator, encord_user_client: EncordUserClient, encord_integration: str
) -> None:
    owner = encord_user_client
    dataset, _ = make_dataset(owner, encord_integration, 2)
    extra, _ = make_dataset(owner, encord_integration, 1)
    project_hash = owner.create_project("private", [dataset.dataset_hash])
    project = owner.get_project(project_hash)
    other = EncordUserClient.create_with_ssh_private_key(
        encord_emulator.new_ssh_key(user=OTHER), domain=encord_emulator.domain
    )

    with pytest.raises(AuthorisationError):
        other.get_project(project_hash)
    assert [p.project_hash for p in other.list_projects()] == []

    added = project.add_users([OTHER], ProjectUserRole.ANNOTATOR)
    assert [(u.user_email, u.user_role) for u in added] == [(OTHER, ProjectUserRole.ANNOTATOR)]
    as_annotator = other.get_project(project_hash)
    assert as_annotator.user_role == ProjectUserRole.ANNOTATOR
    assert len(as_annotator.list_label_rows_v2()) == 2
    with pytest.raises(AuthorisationError):  # adding datasets takes the admin role
        as_annotator.add_datasets([extra.dataset_hash])
    with pytest.raises(AuthorisationError):
        as_annotator.add_users(["third@example.com"], ProjectUserRole.ADMIN)

    project.remove_users([OTHER])
    with pytest.raises(AuthorisationError):
        other.get_project(project_hash)
    with pytest.raises(AuthorisationError):
        as_annotator.list_label_rows_v2()
    with pytest.raises(AuthorisationError):
        as_annotator.add_datasets([extra.dataset_hash])

    project.add_datasets([extra.dataset_hash])  # the owner is admin
    assert len(project.list_label_rows_v2()) == 3
    assert [p.project_hash for p in owner.list_projects()] == [project_hash]
