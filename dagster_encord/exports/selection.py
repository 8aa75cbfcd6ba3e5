"""What an export selects, checked against the live project: the stage, object, classification
and dataset names of the configuration become the hashes and filters the SDK takes.

Every unknown name is an `ExportError` that lists the valid ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dagster_encord.config.exports import LABEL_STATUSES, TASK_STATUSES, ExportSection
from dagster_encord.encord_client.labels import LabelQuery
from dagster_encord.encord_client.projects import ProjectRef
from dagster_encord.errors import ExportError

if TYPE_CHECKING:
    from encord.objects import OntologyStructure

    from dagster_encord.encord_client.client import EncordClient


@dataclass(frozen=True)
class Selection:
    """One export's filters, resolved: `query` goes to Encord, the rest is applied here."""

    project: ProjectRef
    query: LabelQuery
    object_hashes: frozenset[str] | None
    classification_hashes: frozenset[str] | None
    label_statuses: frozenset[str]  # manual QA label statuses, filtered on each row
    dataset_titles: frozenset[str]

    def describe(self, section: ExportSection) -> dict[str, object]:
        """The filters as the manifest records them (names as configured)."""
        return {
            "label_statuses": section.label_statuses,
            "stage": section.stage,
            "objects": section.objects,
            "classifications": section.classifications,
            "datasets": section.datasets,
            "branch": section.branch,
            "signed_urls": section.signed_urls,
        }


def resolve_selection(
    client: EncordClient, project: ProjectRef, section: ExportSection
) -> Selection:
    where = f"exports[{section.name}]"
    statuses = section.label_statuses or []
    task_statuses = tuple(s for s in statuses if s in TASK_STATUSES)
    label_statuses = frozenset(s for s in statuses if s in LABEL_STATUSES)
    if label_statuses and project.is_workflow:
        raise ExportError(
            f"{where}.label_statuses: {', '.join(sorted(label_statuses))} are label statuses of "
            f"manual QA projects; workflow project {project.title!r} has task statuses "
            f"({', '.join(TASK_STATUSES)}) and stages: use stage: or a task status"
        )
    if section.stage is not None:
        _check_stage(project, section.stage, where)
    ontology = client.project_ontology(project.project_hash)
    if section.datasets:
        attached = {d.title for d in client.project_datasets(project.project_hash)}
        _check_names(section.datasets, attached, f"{where}.datasets", "datasets attached")
    return Selection(
        project=project,
        query=LabelQuery(task_statuses=task_statuses, stage=section.stage, branch=section.branch),
        object_hashes=_feature_hashes(ontology, section.objects, "objects", where),
        classification_hashes=_feature_hashes(
            ontology, section.classifications, "classifications", where
        ),
        label_statuses=label_statuses,
        dataset_titles=frozenset(section.datasets or ()),
    )


def _check_stage(project: ProjectRef, stage: str, where: str) -> None:
    if not project.is_workflow:
        raise ExportError(
            f"{where}.stage: project {project.title!r} has no workflow (a manual QA project); "
            "remove stage: or filter with label_statuses:"
        )
    _check_names([stage], {s.title for s in project.stages}, f"{where}.stage", "stages")


def _feature_hashes(
    ontology: OntologyStructure, names: Sequence[str] | None, kind: str, where: str
) -> frozenset[str] | None:
    if names is None:
        return None
    elements = ontology.objects if kind == "objects" else ontology.classifications
    by_name: dict[str, set[str]] = {}
    for element in elements:
        by_name.setdefault(_name(element), set()).add(element.feature_node_hash)
    _check_names(names, set(by_name), f"{where}.{kind}", f"{kind} in the project's ontology")
    return frozenset(h for name in names for h in by_name[name])


def _name(element: object) -> str:
    # An object's name is its own; a classification is named by its (first) attribute.
    name = getattr(element, "name", None)
    if name is None:
        attributes = getattr(element, "attributes", [])
        name = attributes[0].name if attributes else ""
    return str(name)


def _check_names(names: Sequence[str], valid: set[str], field: str, what: str) -> None:
    unknown = [name for name in names if name not in valid]
    if unknown:
        listed = ", ".join(repr(v) for v in sorted(valid)) or "none"
        raise ExportError(f"{field}: {unknown[0]!r} is not one of the {what}: {listed}")
