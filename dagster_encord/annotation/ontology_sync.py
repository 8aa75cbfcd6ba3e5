"""Bring an Encord ontology in line with an ontology file: create it, or merge the file into it
additively (`ontology_merge.py`), save, and verify by reading it back. No Dagster here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dagster_encord.annotation.ontology import OntologySpec
from dagster_encord.annotation.ontology_merge import EMPTY_STRUCTURE, OntologyPlan, plan_ontology
from dagster_encord.errors import OntologyError

if TYPE_CHECKING:
    from dagster_encord.encord_client.client import EncordClient


@dataclass(frozen=True)
class OntologySync:
    """What one sync did. `plan` is None when the ontology was given by hash (only checked)."""

    ontology_hash: str
    title: str
    created: bool = False
    saved: bool = False
    plan: OntologyPlan | None = None

    @property
    def writes(self) -> int:
        return int(self.created) + int(self.saved)


def sync_ontology(
    client: EncordClient,
    spec: OntologySpec,
    *,
    title: str,
    ontology_hash: str | None = None,
    allow_removals: bool = False,
) -> OntologySync:
    """Sync `spec` into the ontology `ontology_hash` (a project's), else into the one titled
    `spec.title or title` (created when there is none; two is an error)."""
    if ontology_hash is None:
        wanted_title = spec.title or title
        found = client.find_ontologies(wanted_title)
        if len(found) > 1:
            hashes = ", ".join(o.ontology_hash for o in found)
            raise OntologyError(
                f"{spec.origin}: {len(found)} Encord ontologies are titled {wanted_title!r} "
                f"({hashes}); set project.ontology to the hash of the one to use, or give the "
                "file a unique title"
            )
        if not found:
            plan = plan_ontology(EMPTY_STRUCTURE, spec, allow_removals=allow_removals)
            created = client.create_ontology(
                wanted_title, plan.structure, description=spec.description or ""
            )
            _verify(spec, created.structure, allow_removals, created.ontology_hash)
            return OntologySync(created.ontology_hash, created.title, created=True, plan=plan)
        live = found[0]
    else:
        live = client.get_ontology(ontology_hash)
    plan = plan_ontology(live.structure, spec, allow_removals=allow_removals)
    if not plan.needs_save:
        return OntologySync(live.ontology_hash, live.title, plan=plan)
    saved = client.save_ontology(live.ontology_hash, plan.structure)
    _verify(spec, saved.structure, allow_removals, live.ontology_hash)
    return OntologySync(live.ontology_hash, live.title, saved=True, plan=plan)


def _verify(
    spec: OntologySpec, read_back: Mapping[str, Any], allow_removals: bool, ontology_hash: str
) -> None:
    """The ontology read back after saving already holds everything the file asks for."""
    again = plan_ontology(read_back, spec, allow_removals=allow_removals)
    if again.needs_save:
        missing = ", ".join(again.added + again.changed + again.removed)
        raise OntologyError(
            f"{spec.origin}: ontology {ontology_hash} was saved but reading it back shows "
            f"differences ({missing}); run again, and report it if it persists"
        )
