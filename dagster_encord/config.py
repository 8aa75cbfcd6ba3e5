"""One pipeline's configuration: the model that Python, the YAML component and the CLI all read.

No Dagster here. Sections: `encord`, `ledger`, `source`, `registration`, `metadata`, `sensors`,
`datasets` (with `on_delete`) and `project`.
Secrets arrive only as environment variable names (`*_env`); a literal key, token, password or
SAS is refused with a message that says so and never repeats the secret. Relative file paths
(`metadata.schema`, `project.ontology`) resolve against the YAML file's folder (`resolve_paths`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from dagster_encord.credentials import (
    SECRET_OPTIONS,
    secret_option_problem,
    secret_url_problem,
)
from dagster_encord.encord_client.client import DEFAULT_DOMAIN, is_uuid
from dagster_encord.errors import ConfigError, DagsterEncordError
from dagster_encord.planner.config import PlannerConfig

_T = TypeVar("_T")
_NAME_HELP = "letters, digits and underscores (it prefixes asset keys)"


class Section(BaseModel):
    """A configuration section: unknown fields are errors, every field is described."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    # Lower bounds by field: (minimum, whether the minimum itself is allowed). Not Field(ge=...):
    # Dagster's component resolution refuses constrained (Annotated) field types.
    _minimums: ClassVar[dict[str, tuple[float, bool]]] = {}

    @field_validator("*")
    @classmethod
    def _at_least(cls, value: Any, info: ValidationInfo) -> Any:
        bound = cls._minimums.get(info.field_name or "")
        if bound is not None and isinstance(value, int | float):
            minimum, inclusive = bound
            if value < minimum or (value == minimum and not inclusive):
                relation = "at least" if inclusive else "more than"
                raise ValueError(f"expected a number {relation} {minimum:g}, got {value:g}")
        return value


class EncordSection(Section):
    """Which Encord to talk to. The key or token is read from the named environment variable."""

    _minimums: ClassVar[dict[str, tuple[float, bool]]] = {
        "max_retries": (0, True),
        "backoff_factor": (0, True),
        "connect_timeout": (1, True),
        "read_timeout": (1, True),
    }

    ssh_private_key_env: str | None = Field(
        default=None,
        description="Name of the environment variable holding the private ed25519 key (PEM).",
    )
    bearer_token_env: str | None = Field(
        default=None, description="Name of the environment variable holding a bearer token."
    )
    domain: str = Field(default=DEFAULT_DOMAIN, description="Encord API origin.")
    max_retries: int = Field(default=3, description="SDK retries of idempotent requests.")
    backoff_factor: float = Field(default=1.5, description="SDK retry backoff (seconds).")
    connect_timeout: int = Field(default=30, description="Seconds to connect.")
    read_timeout: int = Field(default=120, description="Seconds to read one response.")
    resource_key: str = Field(default="encord", description="Dagster resource key.")

    @model_validator(mode="after")
    def _one_credential(self) -> EncordSection:
        if self.ssh_private_key_env and self.bearer_token_env:
            raise ValueError("set ssh_private_key_env or bearer_token_env, not both")
        if not (self.ssh_private_key_env or self.bearer_token_env):
            raise ValueError(
                "set ssh_private_key_env (or bearer_token_env) to the NAME of the environment "
                "variable that holds the key"
            )
        return self

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        return _no_secret_url(value, "the domain takes no credentials")

    @field_validator("ssh_private_key_env", "bearer_token_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        return _env_var_name(value)


class LedgerSection(Section):
    """Where the ledger lives. Default: SQLite under DAGSTER_HOME."""

    url_env: str | None = Field(
        default=None,
        description="Name of the environment variable holding the SQLAlchemy URL (use this "
        "when the URL has a password).",
    )
    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL without a password, e.g. postgresql://host/db or "
        "sqlite:////path/ledger.sqlite.",
    )
    resource_key: str = Field(default="ledger", description="Dagster resource key.")

    @model_validator(mode="after")
    def _no_password(self) -> LedgerSection:
        if self.url and self.url_env:
            raise ValueError("set url or url_env, not both")
        return self

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return _no_secret_url(value, "put the URL in an environment variable and set url_env")

    def resolved_url(self) -> str | None:
        """The URL, reading `url_env` now (outside Dagster; resources use `dg.EnvVar`)."""
        if self.url_env is None:
            return self.url
        if not os.environ.get(self.url_env):
            raise ConfigError(
                f"ledger.url_env: environment variable {self.url_env} is not set; export the "
                "ledger's SQLAlchemy URL in it"
            )
        return os.environ[self.url_env]

    @field_validator("url_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        return _env_var_name(value)


class SourceSection(Section):
    """The bucket or folder to register: s3://, gs://, az://, https://<account>.blob..., file://."""

    _minimums: ClassVar[dict[str, tuple[float, bool]]] = {"page_size": (1, True)}

    url: str = Field(description="Bucket URL, e.g. s3://bucket, gs://bucket, az://account/c.")
    prefix: str = Field(default="", description="List only keys under this prefix.")
    include: list[str] = Field(default_factory=list, description="Globs a key must match.")
    exclude: list[str] = Field(default_factory=list, description="Globs that drop a key.")
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Provider options (endpoint_url, region, profile, role_arn, url_style, ...). "
        "Credentials only as <option>_env: VARIABLE_NAME, e.g. account_key_env.",
    )
    page_size: int = Field(default=1000, description="Keys per listing page.")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        from dagster_encord.sources.registry import provider_for

        _as_value_error(provider_for, value)
        return _no_secret_url(
            value, "remove it and pass the credential as options: {sas_token_env: VARIABLE_NAME}"
        )

    @field_validator("options")
    @classmethod
    def _options(cls, value: dict[str, Any]) -> dict[str, Any]:
        problem = secret_option_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value


class RegistrationSection(Section):
    """Which Encord folder the files go to, and how they are planned and retried."""

    _minimums: ClassVar[dict[str, tuple[float, bool]]] = {
        "max_attempts": (1, True),
        "poll_budget_seconds": (0, False),
        "run_wait_seconds": (0, True),
        "partition_batch_size": (1, True),
    }

    folder: str = Field(description="Encord storage folder: uuid or exact title.")
    integration: str = Field(description="Encord cloud integration: uuid (no lookup) or title.")
    planner: dict[str, Any] = Field(
        default_factory=dict,
        description="Planner settings: budget per lane, groups, extensions, packing, "
        "title_template, quiet_period_minutes (see README: Manifests and the ledger).",
    )
    max_attempts: int = Field(default=5, description="Attempts before quarantine.")
    manifest_url: str | None = Field(
        default=None,
        description="Where manifests are written (default $DAGSTER_HOME/encord_manifests).",
    )

    @field_validator("manifest_url")
    @classmethod
    def _manifest_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return _no_secret_url(value, "give credentials through the source's *_env options")

    pool: str | None = Field(
        default=None, description="Dagster pool of job submissions (encord-folder-<folder>)."
    )
    poll_budget_seconds: float = Field(
        default=20.0, description="Seconds a job-status tick may spend polling."
    )
    run_wait_seconds: float = Field(
        default=600.0, description="Seconds a chunk run waits for its job."
    )
    partition_batch_size: int = Field(
        default=500, description="Chunk partitions added per storage call."
    )

    @field_validator("planner")
    @classmethod
    def _planner(cls, value: dict[str, Any]) -> dict[str, Any]:
        planner = _as_value_error(PlannerConfig.from_mapping, value)
        if planner.format != "json":
            raise ValueError(
                f"format {planner.format!r} cannot be POSTed by the SDK; use format: json "
                "(CSV manifests are for the Encord web app: dagster-encord plan --format csv)"
            )
        return value

    def planner_config(self) -> PlannerConfig:
        return PlannerConfig.from_mapping(self.planner)


class MetadataSection(Section):
    """Custom metadata (clientMetadata): where it comes from and how it is upserted."""

    schema_file: str | None = Field(
        default=None,
        alias="schema",
        description="Declared metadata schema (YAML), relative to this file. With it, values "
        "are validated and the metadata_schema/metadata_upserts assets join the pipeline.",
    )
    sidecar: Literal["append", "replace", "none"] = Field(
        default="append", description="Sidecar JSON: a.jpg.json (append), a.json, or none."
    )
    sidecar_suffix: str = Field(default=".json", description="Sidecar suffix.")
    mapping: str | None = Field(
        default=None, description="Key of one CSV, JSONL or Parquet mapping file in the source."
    )
    mapping_key_column: str = Field(
        default="key", description="Mapping column holding the object key or URL."
    )
    path_regex: str | None = Field(
        default=None, description="Regex with named groups on the key; each group is a field."
    )

    @field_validator("path_regex")
    @classmethod
    def _path_regex(cls, value: str | None) -> str | None:
        if value is not None:
            from dagster_encord.metadata.sources import FromPath

            try:
                _as_value_error(FromPath, value)
            except re.error as error:
                raise ValueError(f"not a valid regular expression ({error})") from None
        return value

    mode: Literal["patch", "reregister"] = Field(
        default="patch",
        description="patch: bulk patches that merge keys; reregister: overwrite by "
        "re-registering with upsert_metadata.",
    )


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


class SensorsSection(Section):
    """The pipeline's sensors (new objects, job status, retries)."""

    _minimums: ClassVar[dict[str, tuple[float, bool]]] = {
        "interval_seconds": (1, True),
        "heal_after_seconds": (0, True),
        "stale_run_seconds": (0, True),
    }

    running: bool = Field(default=False, description="Sensors start running when loaded.")
    interval_seconds: int = Field(default=30, description="Minimum seconds between ticks.")
    heal_after_seconds: float = Field(
        default=60.0, description="A chunk without a live run is relaunched after this."
    )
    stale_run_seconds: float = Field(
        default=3600.0,
        description="A run 'started' this long ago whose chunk is unsubmitted is taken for dead "
        "(where nothing else can tell a dead run).",
    )


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


class PipelineConfig(Section):
    """One bucket -> Encord pipeline."""

    name: str = Field(description=f"Pipeline name: {_NAME_HELP}.")
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
    datasets: list[DatasetRule] = Field(
        default_factory=list,
        description="Encord datasets the registered files are linked to, by rule; with any, the "
        "encord_datasets asset joins the pipeline.",
    )
    on_delete: Literal["keep", "unlink", "delete"] = Field(
        default="keep",
        description="A file deleted from the bucket: keep its data rows (reported), unlink them "
        "from the datasets, or delete them and its storage item.",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value or not value.replace("_", "").isalnum():
            raise ValueError(f"{value!r}: use {_NAME_HELP}")
        return value

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


def _as_value_error(function: Callable[[Any], _T], value: Any) -> _T:
    """Our own errors as ValueError, so pydantic reports them at the field that caused them."""
    try:
        return function(value)
    except DagsterEncordError as error:
        raise ValueError(str(error)) from None


def _no_secret_url(url: str, fix: str) -> str:
    problem = secret_url_problem(url, fix)
    if problem is not None:
        raise ValueError(problem)
    return url


def _env_var_name(value: str | None) -> str | None:
    """An environment variable NAME; a pasted key or token is refused without echoing it."""
    if value is None:
        return None
    if not value.replace("_", "").isalnum() or value[0].isdigit():
        raise ValueError(
            "expected the NAME of an environment variable (letters, digits, _), not its value; "
            "export the key in a variable and give its name here"
        )
    return value


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
