"""One pipeline's configuration: the model that Python, the YAML component and the CLI all read
(no Dagster here)."""

from dagster_encord.config.annotation import DatasetRule, ProjectSection
from dagster_encord.config.base import Section
from dagster_encord.config.events import EventsSection, ReconcileSection
from dagster_encord.config.exports import ExportSection
from dagster_encord.config.pipeline import PipelineConfig, load_pipeline_config, pipeline_config
from dagster_encord.config.sections import (
    EncordSection,
    LedgerSection,
    MetadataSection,
    RegistrationSection,
    SensorsSection,
    SourceSection,
)

__all__ = [
    "DatasetRule",
    "EncordSection",
    "EventsSection",
    "ExportSection",
    "LedgerSection",
    "MetadataSection",
    "PipelineConfig",
    "ProjectSection",
    "ReconcileSection",
    "RegistrationSection",
    "Section",
    "SensorsSection",
    "SourceSection",
    "load_pipeline_config",
    "pipeline_config",
]
