"""The annotation sections: `datasets` (rules that link registered files) and `project`
(ontology, workflow template, attached datasets).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from dagster_encord.config.base import Section
from dagster_encord.encord_client.client import is_uuid


class ProjectSection(Section):
    """The Encord project the files are labelled in: its ontology, workflow and datasets."""

    title: str = Field(
        description="Project title: created if missing, else reused (the exact title; two "
        "projects with it is an error)."
    )
    ontology: str = Field(
        description="An ontology structure file (YAML or JSON, relative to this file), created "
        "or updated additively; or the hash of an existing ontology."
    )
    workflow_template: str | None = Field(
        default=None,
        description="Workflow template uuid: the project is created as a workflow project from "
        "it. Omit for a manual QA project.",
    )
    datasets: list[str] = Field(
        default_factory=list,
        description="Datasets attached to the project, by exact title or hash. Others attached "
        "(in the Encord app) are reported, and detached only with detach_unlisted.",
    )
    detach_unlisted: bool = Field(
        default=False,
        description="Detach attached datasets that are not listed (their label rows leave the "
        "project with them).",
    )
    allow_removals: bool = Field(
        default=False,
        description="Remove ontology features the file no longer lists (labels may use them); "
        "without it they are kept and reported.",
    )

    @field_validator("title", "ontology")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("expected a non-empty string")
        return value

    @field_validator("workflow_template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is not None and not is_uuid(value):
            raise ValueError(
                f"expected a workflow template uuid (Encord: Workflows > Templates), got {value!r}"
            )
        return value

    @field_validator("datasets")
    @classmethod
    def _datasets(cls, value: list[str]) -> list[str]:
        if any(not name.strip() for name in value):
            raise ValueError("expected dataset titles or hashes, got an empty one")
        repeated = sorted({name for name in value if value.count(name) > 1})
        if repeated:
            raise ValueError(f"each dataset once, got {', '.join(map(repr, repeated))} twice")
        return value

    @property
    def ontology_file(self) -> str | None:
        """The ontology file's path, or None when `ontology` is an ontology hash."""
        return None if is_uuid(self.ontology) else self.ontology


class DatasetRule(Section):
    """One Encord dataset and which registered files belong to it (globs and/or metadata)."""

    title: str = Field(
        description="Exact dataset title; created (without a backing folder) when missing."
    )
    description: str = Field(default="", description="Description given to a new dataset.")
    include: list[str] = Field(
        default_factory=list,
        description="Globs on the key, relative to source.prefix (`*` crosses `/`); a file "
        "belongs when one matches. Default: every file.",
    )
    where: dict[str, Any] = Field(
        default_factory=dict,
        description="clientMetadata equalities a file's metadata must all meet, e.g. "
        "{split: train}. Needs a metadata: section.",
    )

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a dataset title cannot be empty")
        return value

    @field_validator("where")
    @classmethod
    def _where(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key, wanted in value.items():
            if not isinstance(wanted, str | int | float | bool):
                raise ValueError(
                    f"{key}: expected a text, number or boolean to compare with, got "
                    f"{type(wanted).__name__}"
                )
        return value
