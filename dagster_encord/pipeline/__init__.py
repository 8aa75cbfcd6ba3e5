"""The pipeline's steps as plain functions (no Dagster), and the settings they read."""

from dagster_encord.pipeline.settings import IngestionSettings

__all__ = ["IngestionSettings"]
