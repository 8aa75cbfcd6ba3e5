"""The Dagster surface: resources, the pipeline factory and its YAML component (dg registry)."""

from dagster_encord.dagster.component import EncordIngestionComponent
from dagster_encord.dagster.factory import build_encord_ingestion
from dagster_encord.dagster.resources import EncordResource, LedgerResource
from dagster_encord.dagster.sensors import SensorOptions

__all__ = [
    "EncordIngestionComponent",
    "EncordResource",
    "LedgerResource",
    "SensorOptions",
    "build_encord_ingestion",
]
