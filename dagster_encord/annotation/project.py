"""Project sync: the Encord project the configuration describes (no Dagster here).

`sync_project` finds the project by exact title or creates it (with the ontology and, when set,
the workflow template); syncs the ontology (`ontology_sync.py`); attaches the configured datasets
(titles resolved to hashes) with `add_datasets` and verifies them with a fresh listing; reports
datasets attached elsewhere (detached only with `detach_unlisted`), and counts label rows by
status (manual QA projects) or tasks by workflow stage. A second run with nothing to change
makes no write. `project_coverage` is the check that every data unit of the configured datasets
is in the project (a label row; in a workflow project, a task).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dagster_encord.annotation.ontology import load_ontology_file
from dagster_encord.annotation.ontology_sync import OntologySync, sync_ontology
from dagster_encord.config.exports import LABEL_STATUSES
from dagster_encord.encord_client.client import is_uuid
from dagster_encord.encord_client.projects import DatasetRef, LabelRowInfo, ProjectRef
from dagster_encord.errors import EncordNotFoundError, ProjectError

if TYPE_CHECKING:
    from dagster_encord.config import ProjectSection
    from dagster_encord.encord_client.client import EncordClient

# Encord's label statuses (manual QA projects) are always reported, so each plots as a series.


@dataclass
class ProjectReport:
    """What one sync found and did."""

    project: ProjectRef
    ontology: OntologySync
    created: bool = False
    datasets: list[DatasetRef] = field(default_factory=list)  # configured, resolved
    attached: list[DatasetRef] = field(default_factory=list)  # by this sync
    unlisted: list[DatasetRef] = field(default_factory=list)  # attached, not configured
    detached: list[DatasetRef] = field(default_factory=list)  # by this sync
    label_rows: list[LabelRowInfo] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def writes(self) -> int:
        """Encord writes this sync made (0 when everything was in line already)."""
        dataset_writes = int(bool(self.attached)) + int(bool(self.detached))
        return int(self.created) + self.ontology.writes + dataset_writes

    def label_rows_by_status(self) -> dict[str, int]:
        counts = Counter(row.label_status for row in self.label_rows if row.label_status)
        return {status: counts.get(status, 0) for status in (*LABEL_STATUSES, *counts)}

    def tasks_by_stage(self) -> dict[str, int]:
        """Stage title -> tasks in it, every stage of the workflow included (0 when empty)."""
        counts = Counter(row.stage_uuid for row in self.label_rows if row.stage_uuid)
        return {stage.title: counts.get(stage.stage_uuid, 0) for stage in self.project.stages}


def sync_project(client: EncordClient, section: ProjectSection) -> ProjectReport:
    """Bring the project in line with `section` (see the module docstring)."""
    started = time.monotonic()
    spec = load_ontology_file(section.ontology_file) if section.ontology_file else None
    datasets = resolve_datasets(client, section.datasets)
    project = find_project(client, section.title)
    if spec is None:
        ontology = _check_ontology_hash(client, section, project)
    else:
        ontology = sync_ontology(
            client,
            spec,
            title=section.title,
            ontology_hash=project.ontology_hash if project else None,
            allow_removals=section.allow_removals,
        )
    created = project is None
    if project is None:
        # Datasets are attached afterwards: a refusal then names the template or the dataset.
        project_hash = client.create_project(
            section.title, [], ontology.ontology_hash, section.workflow_template
        )
        project = client.get_project(project_hash)
    else:
        _check_workflow(section, project)
    report = ProjectReport(project=project, ontology=ontology, created=created, datasets=datasets)
    _sync_datasets(client, section, report)
    report.label_rows = client.project_label_rows(project.project_hash)
    report.seconds = time.monotonic() - started
    return report


def resolve_datasets(client: EncordClient, names: list[str]) -> list[DatasetRef]:
    """Each configured dataset (exact title, or hash) as a hash; a missing or ambiguous title
    is an error naming it."""
    resolved = []
    for name in names:
        if is_uuid(name):
            resolved.append(DatasetRef(name, name))
            continue
        found = client.find_datasets(name)
        if not found:
            raise ProjectError(
                f"project.datasets: no Encord dataset is titled {name!r}; create it (the "
                "datasets: section does) or correct the title"
            )
        if len(found) > 1:
            hashes = ", ".join(d.dataset_hash for d in found)
            raise ProjectError(
                f"project.datasets: {len(found)} Encord datasets are titled {name!r} ({hashes}); "
                "list the hash of the one to attach instead"
            )
        resolved.append(found[0])
    return resolved


def find_project(client: EncordClient, title: str) -> ProjectRef | None:
    """The project with exactly this title; None when there is none, an error when two."""
    found = client.find_projects(title)
    if len(found) > 1:
        hashes = ", ".join(p.project_hash for p in found)
        raise ProjectError(
            f"project.title: {len(found)} Encord projects are titled {title!r} ({hashes}); "
            "rename all but one in Encord, or choose another title"
        )
    return found[0] if found else None


def _check_ontology_hash(
    client: EncordClient, section: ProjectSection, project: ProjectRef | None
) -> OntologySync:
    ontology = client.get_ontology(section.ontology)  # an unknown hash: a clear error
    if project is not None and project.ontology_hash != ontology.ontology_hash:
        raise ProjectError(
            f"project.ontology: project {section.title!r} uses ontology {project.ontology_hash}, "
            f"the configuration names {ontology.ontology_hash}; a project's ontology cannot be "
            "swapped: set project.ontology to the project's, or choose another project title"
        )
    return OntologySync(ontology.ontology_hash, ontology.title)


def _check_workflow(section: ProjectSection, project: ProjectRef) -> None:
    if section.workflow_template is not None and not project.is_workflow:
        raise ProjectError(
            f"project.workflow_template: project {project.title!r} ({project.project_hash}) is "
            "a manual QA project and Encord cannot make it a workflow project; remove "
            "workflow_template, or choose another project title to create a workflow project"
        )


def _sync_datasets(client: EncordClient, section: ProjectSection, report: ProjectReport) -> None:
    project_hash = report.project.project_hash
    attached = client.project_datasets(project_hash)
    attached_hashes = {d.dataset_hash for d in attached}
    wanted = {d.dataset_hash for d in report.datasets}
    report.attached = [d for d in report.datasets if d.dataset_hash not in attached_hashes]
    report.unlisted = [d for d in attached if d.dataset_hash not in wanted]
    if report.attached:
        try:
            client.add_project_datasets(project_hash, [d.dataset_hash for d in report.attached])
        except EncordNotFoundError as error:
            raise ProjectError(f"project.datasets: {error}") from None
    if report.unlisted and section.detach_unlisted:
        report.detached = list(report.unlisted)
        client.remove_project_datasets(project_hash, [d.dataset_hash for d in report.detached])
    if report.attached or report.detached:
        attached = client.project_datasets(project_hash)  # verify what Encord now lists
        now = {d.dataset_hash for d in attached}
        missing = sorted(wanted - now)
        still = sorted({d.dataset_hash for d in report.detached} & now)
        if missing or still:
            raise ProjectError(
                f"project {section.title!r}: after the update Encord lists the datasets "
                f"{sorted(now)} (missing {missing}, still attached {still}); run again, and "
                "report it if it persists"
            )
    # A dataset given by hash takes its title from the project's listing.
    titles = {d.dataset_hash: d.title for d in attached}
    report.datasets = [DatasetRef(d.dataset_hash, titles[d.dataset_hash]) for d in report.datasets]
    report.attached = [DatasetRef(d.dataset_hash, titles[d.dataset_hash]) for d in report.attached]


@dataclass(frozen=True)
class Coverage:
    """Data units of the configured datasets, and those without a label row or task."""

    units: int
    missing: list[str]  # data hashes
    project_found: bool = True


def project_coverage(client: EncordClient, section: ProjectSection) -> Coverage:
    """Every data unit of the configured datasets has a label row in the project (a workflow
    project: a task in some stage). Reads only."""
    project = find_project(client, section.title)
    if project is None:
        return Coverage(units=0, missing=[], project_found=False)
    units: list[str] = []
    for dataset in resolve_datasets(client, section.datasets):
        units.extend(client.dataset_data_hashes(dataset.dataset_hash))
    rows = client.project_label_rows(project.project_hash)
    covered = {r.data_hash for r in rows if not project.is_workflow or r.stage_uuid is not None}
    return Coverage(units=len(units), missing=[u for u in units if u not in covered])
