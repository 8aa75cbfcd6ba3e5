"""One pipeline's configuration: the model that Python, the YAML component and the CLI all read.

No Dagster here. Sections: `encord`, `ledger`, `source`, `registration`, `metadata`, `sensors`,
`datasets` (with `on_delete`), `project` and `exports`.
Secrets arrive only as environment variable names (`*_env`); a literal key, token, password or
SAS is refused with a message that says so and never repeats the secret. Relative file paths
(`metadata.schema`, `project.ontology`) resolve against the YAML file's folder (`resolve_paths`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator

from dagster_encord.config.annotation import DatasetRule, ProjectSection
from dagster_encord.config.base import NAME_HELP, Section, asset_name
from dagster_encord.config.events import EventsSection, ReconcileSection
from dagster_encord.config.exports import ExportSection
from dagster_encord.config.sections import (
    EncordSection,
    LedgerSection,
    MetadataSection,
    RegistrationSection,
    SensorsSection,
    SourceSection,
)
from dagster_encord.credentials import SECRET_OPTIONS
from dagster_encord.errors import ConfigError


class PipelineConfig(Section):
    """One bucket -> Encord pipeline."""

    name: str = Field(description=f"Pipeline name: {NAME_HELP}.")
    encord: EncordSection = Field(description="Encord domain and credentials.")
    ledger: LedgerSection = Field(
        default_factory=LedgerSection, description="Ledger database (default SQLite)."
    )
    source: SourceSection = Field(description="The bucket to register.")
    registration: RegistrationSection = Field(description="Target folder, planner, retries.")
    metadata: MetadataSection | None = Field(
        default=None, description="Custom metadata; omit for none."
    )
    project: ProjectSection | None = Field(
        default=None,
        description="The Encord project (ontology, workflow, datasets); omit for none.",
    )
    sensors: SensorsSection = Field(
        default_factory=SensorsSection, description="Sensor intervals and default status."
    )
    events: EventsSection | None = Field(
        default=None,
        description="Bucket notifications through a queue: the bucket_events sensor replaces "
        "the polling new_objects sensor. Omit to poll.",
    )
    reconcile: ReconcileSection | None = Field(
        default=None,
        description="A schedule for the complete listing (lost events, deletions, drift).",
    )
    datasets: list[DatasetRule] = Field(
        default_factory=list,
        description="Encord datasets the registered files are linked to, by rule; with any, the "
        "encord_datasets asset joins the pipeline.",
    )
    exports: list[ExportSection] = Field(
        default_factory=list,
        description="Label exports from the project into a bucket (JSON or COCO); each is an "
        "asset downstream of encord_project. Needs a project: section.",
    )
    on_delete: Literal["keep", "unlink", "delete"] = Field(
        default="keep",
        description="A file deleted from the bucket: keep its data rows (reported), unlink them "
        "from the datasets, or delete them and its storage item.",
    )

    _name = field_validator("name")(asset_name)

    @field_validator("datasets")
    @classmethod
    def _unique_titles(cls, value: list[DatasetRule]) -> list[DatasetRule]:
        titles = [rule.title for rule in value]
        repeated = sorted({title for title in titles if titles.count(title) > 1})
        if repeated:
            raise ValueError(
                f"dataset title {repeated[0]!r} is listed twice; merge its rules into one entry"
            )
        return value

    @field_validator("exports")
    @classmethod
    def _exports(cls, value: list[ExportSection], info: ValidationInfo) -> list[ExportSection]:
        names = [export.name for export in value]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"export name {repeated[0]!r} is used twice; names must differ")
        if value and info.data.get("project", "absent") is None:
            raise ValueError("exports read the project's labels; add a project: section")
        source: SourceSection | None = info.data.get("source")
        for export in value if source is not None else []:
            assert source is not None
            listed = source.url.rstrip("/") + "/" + source.prefix
            if listed.startswith(export.destination.rstrip("/") + "/"):
                raise ValueError(
                    f"{export.name}: destination {export.destination} holds the files the "
                    f"source lists; give the export its own folder, e.g. "
                    f"{source.url.rstrip('/')}/exports/{export.name}/"
                )
        return value

    @field_validator("on_delete")
    @classmethod
    def _on_delete_needs_datasets(cls, value: str, info: ValidationInfo) -> str:
        if value != "keep" and "datasets" in info.data and not info.data["datasets"]:
            raise ValueError(
                f"{value} acts on dataset links; add a datasets: section or remove on_delete"
            )
        return value

    def resolve_paths(self, base_dir: Path) -> PipelineConfig:
        """A copy whose relative file paths are taken relative to `base_dir`."""
        update: dict[str, Any] = {}
        if self.metadata is not None and self.metadata.schema_file is not None:
            schema_file = _resolve(self.metadata.schema_file, base_dir)
            update["metadata"] = self.metadata.model_copy(update={"schema_file": schema_file})
        if self.project is not None and self.project.ontology_file is not None:
            ontology = _resolve(self.project.ontology_file, base_dir)
            update["project"] = self.project.model_copy(update={"ontology": ontology})
        return self.model_copy(update=update) if update else self

    def check_files(self, origin: str) -> None:
        """ConfigError when a referenced file is missing (call after `resolve_paths`)."""
        files = {
            "metadata.schema": self.metadata.schema_file if self.metadata is not None else None,
            "project.ontology": self.project.ontology_file if self.project is not None else None,
        }
        for field_name, path in files.items():
            if path is not None and not Path(path).is_file():
                raise ConfigError(
                    f"{origin}: {field_name}: file {path} does not exist; "
                    "give a path relative to the YAML file or an absolute one"
                )


def _resolve(path_text: str, base_dir: Path) -> str:
    path = Path(path_text).expanduser()
    return str(path if path.is_absolute() else (base_dir / path).resolve())


def pipeline_config(
    data: PipelineConfig | Mapping[str, Any], *, origin: str = "pipeline configuration"
) -> PipelineConfig:
    """Validate plain data (a YAML document's attributes, a dict) into the model."""
    if isinstance(data, PipelineConfig):
        return data
    try:
        return PipelineConfig.model_validate(dict(data))
    except ValidationError as error:
        raise ConfigError(_describe(error, origin)) from None


def load_pipeline_config(path: str | Path) -> PipelineConfig:
    """Read a PIPELINE.yaml: a component file (`type:` + `attributes:`) or the attributes alone."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read ({error.strerror or error})") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}{where}: {problem}") from None
    if not isinstance(document, Mapping):
        raise ConfigError(f"{path}: expected a mapping of pipeline settings at the top level")
    attributes = document.get("attributes", document) if "type" in document else document
    if not isinstance(attributes, Mapping):
        raise ConfigError(f"{path}: attributes: expected a mapping of pipeline settings")
    config = pipeline_config(attributes, origin=str(path)).resolve_paths(path.parent.resolve())
    config.check_files(str(path))
    return config


def _describe(error: ValidationError, origin: str) -> str:
    """One line per problem: file, dotted field, what was expected. Never the input value."""
    lines = []
    for problem in error.errors(include_input=False, include_url=False):
        field = ".".join(str(part) for part in problem["loc"]) or "<top level>"
        kind = problem["type"]
        message = str(problem["msg"])
        if kind == "extra_forbidden":
            message = "unknown field; check the spelling (see README: Configuration)"
        elif kind == "missing":
            message = "required field is missing"
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if field.rpartition(".")[2] in SECRET_OPTIONS and kind != "extra_forbidden":
            message = f"{message} (use {field.rpartition('.')[2]}_env)"
        lines.append(f"{field}: {message}")
    head = f"{origin}: " if len(lines) == 1 else f"{origin}: {len(lines)} problems:\n  "
    return head + "\n  ".join(lines)
