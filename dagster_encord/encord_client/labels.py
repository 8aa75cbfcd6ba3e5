"""Label rows through the SDK, as an export reads them: the metadata list with the filters
Encord applies on the server, then bundled initialisation (1,000 rows per request).

The rows are the SDK's own `LabelRowV2` objects, so `to_encord_dict()` and the COCO exporter see
exactly what they would in a user's script. `EncordClient` gets these methods from `LabelCalls`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dagster_encord.encord_client.calls import SdkCalls
from dagster_encord.encord_client.sdk_errors import translate_sdk_error

if TYPE_CHECKING:
    from encord.objects import LabelRowV2, OntologyStructure

BUNDLE_SIZE = 1000  # the SDK's limit for one bundled label-row request


@dataclass(frozen=True)
class LabelQuery:
    """The server-side filters of `list_label_rows_v2` an export uses."""

    edited_after: str | None = None  # ISO time; Encord keeps rows edited after it
    task_statuses: tuple[str, ...] = ()  # AnnotationTaskStatus names
    stage: str | None = None  # workflow stage title
    branch: str = "main"


class LabelCalls(SdkCalls):
    def label_rows(self, project_hash: str, query: LabelQuery) -> list[LabelRowV2]:
        """The project's label rows (metadata only, not initialised) matching `query`: one
        request, as Encord does not page this list."""
        from encord.orm.label_row import AnnotationTaskStatus

        project = self._project(project_hash)
        try:
            return project.list_label_rows_v2(
                edited_after=query.edited_after,
                label_statuses=[AnnotationTaskStatus(s) for s in query.task_statuses] or None,
                workflow_graph_node_title_eq=query.stage,
                include_workflow_graph_node=query.stage is not None,
                branch_name=query.branch,
            )
        except Exception as error:
            doing = f"listing the label rows of project {project.title!r}"
            raise translate_sdk_error(error, doing) from None

    def initialise_label_rows(
        self,
        project_hash: str,
        rows: Sequence[LabelRowV2],
        *,
        object_hashes: Collection[str] | None = None,
        classification_hashes: Collection[str] | None = None,
        signed_urls: bool = False,
    ) -> None:
        """Read the labels of `rows` (all with a label hash), one request per 1,000 rows."""
        project = self._project(project_hash)
        try:
            with project.create_bundle(bundle_size=BUNDLE_SIZE) as bundle:
                for row in rows:
                    row.initialise_labels(
                        include_object_feature_hashes=set(object_hashes)
                        if object_hashes is not None
                        else None,
                        include_classification_feature_hashes=set(classification_hashes)
                        if classification_hashes is not None
                        else None,
                        bundle=bundle,
                        include_signed_url=signed_urls,
                        overwrite=True,
                    )
        except Exception as error:
            doing = f"reading {len(rows)} label rows of project {project.title!r}"
            raise translate_sdk_error(error, doing) from None

    def project_ontology(self, project_hash: str) -> OntologyStructure:
        """The project's ontology structure (read with the project)."""
        return self._project(project_hash).ontology_structure
