"""Ontologies through the SDK: read, find by title, create, save. `EncordClient` gets these
methods from `OntologyCalls`.

A structure travels as the plain editor dict (`OntologyStructure.to_dict()`), so the package's
ontology code never handles SDK objects. Every structure is validated by the SDK's own parser
before it is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dagster_encord.encord_client.calls import SdkCalls
from dagster_encord.encord_client.sdk_errors import translate_sdk_error
from dagster_encord.errors import EncordError, EncordNotFoundError

if TYPE_CHECKING:
    from encord.objects import OntologyStructure
    from encord.ontology import Ontology


@dataclass(frozen=True)
class OntologyRef:
    """An ontology as read from Encord; `structure` is its editor dict (`to_dict()` form)."""

    ontology_hash: str
    title: str
    structure: Mapping[str, Any]


def _ref(ontology: Ontology) -> OntologyRef:
    return OntologyRef(
        ontology_hash=str(ontology.ontology_hash),
        title=ontology.title,
        structure=ontology.structure.to_dict(),
    )


def sdk_structure(structure: Mapping[str, Any], doing: str) -> OntologyStructure:
    """The SDK's `OntologyStructure` of an editor dict; EncordError when the SDK refuses it."""
    from encord.objects import OntologyStructure

    try:
        return OntologyStructure.from_dict(dict(structure))
    except KeyError as error:
        raise EncordError(
            f"{doing}: the SDK refuses the ontology structure (missing field {error.args[0]!r})"
        ) from None
    except (TypeError, ValueError) as error:
        raise EncordError(f"{doing}: the SDK refuses the ontology structure ({error})") from None


class OntologyCalls(SdkCalls):
    """The ontology calls of `EncordClient` (which holds the SDK client)."""

    def get_ontology(self, ontology_hash: str) -> OntologyRef:
        """One ontology by hash (one request)."""
        from encord.exceptions import AuthorisationError, ResourceNotFoundError

        try:
            return _ref(self._user_client.get_ontology(ontology_hash))
        except (AuthorisationError, ResourceNotFoundError):
            raise EncordNotFoundError(
                f"ontology {ontology_hash}: no such ontology, or this user cannot see it; check "
                "the ontology hash (Encord: Ontologies > the ontology > copy its ID) or give an "
                "ontology file instead"
            ) from None
        except Exception as error:
            raise translate_sdk_error(error, f"reading ontology {ontology_hash}") from None

    def find_ontologies(self, title: str) -> list[OntologyRef]:
        """The ontologies whose title is exactly `title` (one request)."""
        try:
            found = self._user_client.get_ontologies(title_eq=title)
        except Exception as error:
            raise translate_sdk_error(error, f"finding ontologies titled {title!r}") from None
        return [_ref(row["ontology"]) for row in found if row["ontology"].title == title]

    def create_ontology(
        self, title: str, structure: Mapping[str, Any], description: str = ""
    ) -> OntologyRef:
        """A new ontology with `structure` (one request, never retried by the SDK)."""
        doing = f"creating ontology {title!r}"
        sdk = sdk_structure(structure, doing)
        try:
            return _ref(self._user_client.create_ontology(title, description, structure=sdk))
        except Exception as error:
            raise translate_sdk_error(error, doing) from None

    def save_ontology(self, ontology_hash: str, structure: Mapping[str, Any]) -> OntologyRef:
        """Replace the ontology's structure (title and description kept) and read it back:
        three requests (read, save, read)."""
        doing = f"saving ontology {ontology_hash}"
        wanted = sdk_structure(structure, doing)
        try:
            ontology = self._user_client.get_ontology(ontology_hash)
            live = ontology.structure
            # The SDK saves the structure object it holds; it has no setter, so refill it.
            live.objects[:] = wanted.objects
            live.classifications[:] = wanted.classifications
            live.skeleton_templates.clear()
            live.skeleton_templates.update(wanted.skeleton_templates)
            ontology.save()
            return _ref(self._user_client.get_ontology(ontology_hash))
        except Exception as error:
            raise translate_sdk_error(error, doing) from None
