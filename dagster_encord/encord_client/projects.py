"""Projects through the SDK: find by title, create (with an ontology and a workflow template),
attach and detach datasets, list label rows; and the two dataset reads a project needs (find by
title, data units). `EncordClient` gets these methods from `ProjectCalls`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dagster_encord.encord_client.calls import SdkCalls
from dagster_encord.encord_client.sdk_errors import translate_sdk_error
from dagster_encord.errors import EncordError, EncordNotFoundError

if TYPE_CHECKING:
    from encord.project import Project


@dataclass(frozen=True, slots=True)
class StageRef:
    stage_uuid: str
    title: str
    stage_type: str  # ANNOTATION, REVIEW, DONE, ...


@dataclass(frozen=True, slots=True)
class ProjectRef:
    """A project as read from Encord. `stages` is empty for a manual QA (non-workflow) project."""

    project_hash: str
    title: str
    ontology_hash: str
    is_workflow: bool
    stages: tuple[StageRef, ...] = ()


@dataclass(frozen=True, slots=True)
class DatasetRef:
    dataset_hash: str
    title: str


@dataclass(frozen=True, slots=True)
class LabelRowInfo:
    """One data unit of a project. `label_hash` is None until labelling starts; `label_status`
    is None in workflow projects (Encord tracks their progress by stage: `stage_uuid`)."""

    data_hash: str
    dataset_hash: str
    label_hash: str | None
    label_status: str | None
    stage_uuid: str | None
    stage_title: str | None


def _project_ref(project: Project) -> ProjectRef:
    from encord.orm.project import ProjectType

    is_workflow = project.project_type == ProjectType.WORKFLOW
    stages = (
        tuple(
            StageRef(str(stage.uuid), stage.title, str(stage.stage_type.value))
            for stage in project.workflow.stages
        )
        if is_workflow
        else ()
    )
    return ProjectRef(
        project_hash=str(project.project_hash),
        title=project.title,
        ontology_hash=str(project.ontology_hash),
        is_workflow=is_workflow,
        stages=stages,
    )


class ProjectCalls(SdkCalls):
    """The project calls of `EncordClient` (which holds the SDK client and `_sdk_projects`, the
    projects read so far by hash: a project's title, ontology and workflow never change under
    us, and the SDK refetches it after attaching or detaching datasets)."""

    _sdk_projects: dict[str, Any]

    # --- projects ------------------------------------------------------------------------------

    def find_projects(self, title: str) -> list[ProjectRef]:
        """The projects whose title is exactly `title` (one request per 100 matches)."""
        try:
            found = [
                project
                for project in self._user_client.list_projects(title_eq=title)
                if project.title == title
            ]
        except Exception as error:
            raise translate_sdk_error(error, f"finding projects titled {title!r}") from None
        for project in found:
            self._sdk_projects[str(project.project_hash)] = project
        return [_project_ref(project) for project in found]

    def get_project(self, project_hash: str) -> ProjectRef:
        """One project by hash (two requests the first time: the project and its ontology)."""
        return _project_ref(self._project(project_hash))

    def _project(self, project_hash: str) -> Project:
        if project_hash in self._sdk_projects:
            return self._sdk_projects[project_hash]
        try:
            project = self._user_client.get_project(project_hash)
        except Exception as error:
            raise translate_sdk_error(error, f"reading project {project_hash}") from None
        self._sdk_projects[project_hash] = project
        return project

    def create_project(
        self,
        title: str,
        dataset_hashes: Sequence[str],
        ontology_hash: str,
        workflow_template: str | None = None,
    ) -> str:
        """Create a project; return its hash. One request, never retried by the SDK.

        Encord answers a workflow template that does not exist or that this user may not use
        with 403 (AuthorisationError); that becomes an `EncordNotFoundError` naming the template.
        """
        from encord.exceptions import AuthorisationError

        doing = f"creating project {title!r}"
        try:
            return str(
                self._user_client.create_project(
                    title,
                    list(dataset_hashes),
                    ontology_hash=ontology_hash,
                    workflow_template_hash=workflow_template,
                )
            )
        except AuthorisationError as error:
            if workflow_template is None:
                raise translate_sdk_error(error, doing) from None
            raise EncordNotFoundError(
                f"{doing}: Encord refused workflow template {workflow_template} (not found, or "
                "this user is not an admin of it); check project.workflow_template (Encord: "
                "Workflows > Templates > the template's ID) or leave it out for a manual QA "
                "project"
            ) from None
        except Exception as error:
            raise translate_sdk_error(error, doing) from None

    def project_datasets(self, project_hash: str) -> list[DatasetRef]:
        """The datasets attached to the project (one request)."""
        project = self._project(project_hash)
        try:
            return [
                DatasetRef(str(dataset.dataset_hash), dataset.title)
                for dataset in project.list_datasets()
            ]
        except Exception as error:
            raise translate_sdk_error(error, f"listing the datasets of {project.title!r}") from None

    def add_project_datasets(self, project_hash: str, dataset_hashes: Sequence[str]) -> None:
        """Attach datasets (one request, never retried by the SDK, then the SDK's refetch)."""
        project = self._project(project_hash)
        try:
            project.add_datasets(list(dataset_hashes))
        except Exception as error:
            doing = f"attaching {len(dataset_hashes)} datasets to project {project.title!r}"
            raise translate_sdk_error(error, doing) from None

    def remove_project_datasets(self, project_hash: str, dataset_hashes: Sequence[str]) -> None:
        """Detach datasets (one request, then the SDK's refetch). Their label rows go with them."""
        project = self._project(project_hash)
        try:
            project.remove_datasets(list(dataset_hashes))
        except Exception as error:
            doing = f"detaching {len(dataset_hashes)} datasets from project {project.title!r}"
            raise translate_sdk_error(error, doing) from None

    def project_label_rows(self, project_hash: str) -> list[LabelRowInfo]:
        """Every data unit of the project with its label row (one request, no paging)."""
        project = self._project(project_hash)
        try:
            rows = project.list_label_rows_v2()
            workflow = _project_ref(project).is_workflow
            return [
                LabelRowInfo(
                    data_hash=str(row.data_hash),
                    dataset_hash=str(row.dataset_hash),
                    label_hash=row.label_hash,
                    # label_status raises WrongProjectTypeError on workflow projects' rows
                    label_status=None if workflow else row.label_status.value,
                    stage_uuid=str(node.uuid) if (node := row.workflow_graph_node) else None,
                    stage_title=node.title if node else None,
                )
                for row in rows
            ]
        except Exception as error:
            doing = f"listing the label rows of project {project.title!r}"
            raise translate_sdk_error(error, doing) from None

    # --- datasets, as a project needs them ------------------------------------------------------

    def find_datasets(self, title: str) -> list[DatasetRef]:
        """The datasets whose title is exactly `title` (one request)."""
        try:
            found = self._user_client.get_datasets(title_eq=title)
        except Exception as error:
            raise translate_sdk_error(error, f"finding datasets titled {title!r}") from None
        return [
            DatasetRef(str(row["dataset"].dataset_hash), row["dataset"].title)
            for row in found
            if row["dataset"].title == title
        ]

    def dataset_data_hashes(self, dataset_hash: str) -> list[str]:
        """The data units of a dataset (one request)."""
        try:
            dataset = self._user_client.get_dataset(dataset_hash)
            return [str(row.uid) for row in dataset.data_rows]
        except EncordError:
            raise
        except Exception as error:
            raise translate_sdk_error(error, f"reading dataset {dataset_hash}") from None
