"""dagster-encord: register cloud-bucket data in Encord with Dagster.

Public names load on first use, so `import dagster_encord` imports neither Dagster nor the SDK.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dagster_encord.config import PipelineConfig, load_pipeline_config
    from dagster_encord.dagster import (
        EncordPipeline,
        EncordResource,
        LedgerResource,
        build_encord_ingestion,
    )
    from dagster_encord.emulator import EncordEmulator
    from dagster_encord.encord_client.client import EncordClient
    from dagster_encord.ledger import Ledger
    from dagster_encord.planner import PlannerConfig
    from dagster_encord.sources import ObjectRecord, open_source

_HOMES = {
    "build_encord_ingestion": "dagster_encord.dagster",
    "EncordPipeline": "dagster_encord.dagster",
    "PipelineConfig": "dagster_encord.config",
    "load_pipeline_config": "dagster_encord.config",
    "EncordResource": "dagster_encord.dagster",
    "LedgerResource": "dagster_encord.dagster",
    "EncordClient": "dagster_encord.encord_client.client",
    "EncordEmulator": "dagster_encord.emulator",
    "Ledger": "dagster_encord.ledger",
    "PlannerConfig": "dagster_encord.planner",
    "ObjectRecord": "dagster_encord.sources",
    "open_source": "dagster_encord.sources",
}

__all__ = [
    "EncordClient",
    "EncordEmulator",
    "EncordPipeline",
    "EncordResource",
    "Ledger",
    "LedgerResource",
    "ObjectRecord",
    "PipelineConfig",
    "PlannerConfig",
    "build_encord_ingestion",
    "load_pipeline_config",
    "open_source",
]


def __dir__() -> list[str]:
    # dg's registry scans the module's names for components.
    return sorted(__all__)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'dagster_encord' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)
