"""The Dagster surface: resources, the pipeline factory and its YAML component (dg registry)."""

from dagster_encord.dagster.component import EncordPipeline
from dagster_encord.dagster.factory import build_encord_ingestion
from dagster_encord.dagster.resources import EncordResource, LedgerResource

__all__ = [
    "EncordPipeline",
    "EncordResource",
    "LedgerResource",
    "build_encord_ingestion",
]
