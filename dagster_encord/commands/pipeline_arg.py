"""Commands that take a bucket URL also take the pipeline's own file: `PIPELINE.yaml`.

With it, the source, its options and filters, the planner, the metadata providers and the ledger
come from the one configuration a pipeline runs with; flags given on the command line override.
"""

from __future__ import annotations

from pathlib import Path

from dagster_encord.config import PipelineConfig, load_pipeline_config

YAML_SUFFIXES = (".yaml", ".yml")


def pipeline_file(argument: str) -> PipelineConfig | None:
    """The configuration when `argument` names a YAML file, else None (a URL or a name)."""
    if "://" in argument or not argument.lower().endswith(YAML_SUFFIXES):
        return None
    return load_pipeline_config(Path(argument))
