"""The package's exceptions. Each message names the thing at fault and what to do about it."""

from __future__ import annotations


class DagsterEncordError(Exception):
    """Base class: every error the package raises on purpose derives from it."""


class ConfigError(DagsterEncordError):
    """A pipeline configuration (YAML or Python) is invalid: names the file, field and fix."""


class CursorError(DagsterEncordError, ValueError):
    """A stored cursor cannot be read: not JSON, truncated, another version or an old format."""


# --- sources ---------------------------------------------------------------------------------


class SourceError(DagsterEncordError):
    """A bucket or folder could not be listed, read or written."""


class UnknownSchemeError(SourceError):
    """A source URL whose scheme has no provider."""


class BucketNotFoundError(SourceError):
    """The bucket, container or folder does not exist."""


class AccessDeniedError(SourceError):
    """The credentials are valid but lack a permission."""


class BadCredentialsError(SourceError):
    """The credentials were rejected or could not be found."""


class EndpointUnreachableError(SourceError):
    """The storage endpoint did not answer."""


class ObjectNotFoundError(SourceError):
    """A single object (a sidecar, a mapping file) does not exist."""


class ObjectTooLargeError(SourceError):
    """`read_bytes` was pointed at an object larger than its limit (not a sidecar)."""


# --- event queues ----------------------------------------------------------------------------


class QueueNotFoundError(SourceError):
    """The event queue (SQS queue, Pub/Sub subscription, Storage Queue) does not exist."""


class AcknowledgeError(SourceError):
    """Some received messages could not be acknowledged. They come back after the queue's
    visibility timeout; the ledger ignores events it already holds, so that costs time only."""

    def __init__(self, message: str, message_ids: list[str]) -> None:
        super().__init__(message)
        self.message_ids = message_ids


# --- planner ---------------------------------------------------------------------------------


class PlanningError(DagsterEncordError):
    """A manifest could not be planned."""


class ManifestLimitError(PlanningError):
    """An entry or a manifest is over one of Encord's registration limits."""


# --- metadata --------------------------------------------------------------------------------


class MetadataError(DagsterEncordError):
    """Custom metadata or a metadata schema is invalid."""


class SchemaError(MetadataError):
    """A declared metadata schema is invalid or cannot be applied safely."""


class MetadataValidationError(MetadataError):
    """A clientMetadata value does not conform to the schema."""


# --- ledger ----------------------------------------------------------------------------------


class LedgerError(DagsterEncordError):
    """The ledger refused a transition or could not be reached."""


# --- Encord ----------------------------------------------------------------------------------


class EncordError(DagsterEncordError):
    """Encord (or the emulator) refused or failed a request."""


class EncordAuthError(EncordError):
    """Encord rejected the key or token."""


class EncordNotFoundError(EncordError):
    """A folder, dataset, project or integration does not exist or is not visible."""


class EncordPermissionError(EncordError):
    """The key's user sees a resource but lacks the role a change needs (e.g. dataset admin)."""


class EncordAmbiguousError(EncordError):
    """A title given in the configuration matches several Encord resources."""


class EncordRateLimitedError(EncordError):
    """Encord answered 429; retry after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# --- annotation (ontology, project) ----------------------------------------------------------


class OntologyError(DagsterEncordError):
    """An ontology file is invalid, or a change to the live ontology is refused."""


class ProjectError(DagsterEncordError):
    """An Encord project cannot be found, created or brought in line with the configuration."""


class ExportError(DagsterEncordError):
    """A label export names a stage, object, status or dataset the project does not have, or
    its format cannot be written."""


# --- emulator --------------------------------------------------------------------------------


class EmulatorConfigError(DagsterEncordError):
    """The Encord emulator was given a file, key or option it cannot use."""
