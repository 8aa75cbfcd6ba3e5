"""planner: object records -> Encord registration manifests (pure Python, no Dagster)."""

from dagster_encord.planner.chunking import Chunk
from dagster_encord.planner.classify import DataType, SkippedFile
from dagster_encord.planner.config import GroupRule, PlannerConfig
from dagster_encord.planner.group import HeldGroup
from dagster_encord.planner.manifest import ManifestItem
from dagster_encord.planner.plan import ManifestPlanner, Plan, PlanTotals, plan_records

__all__ = [
    "Chunk",
    "DataType",
    "GroupRule",
    "HeldGroup",
    "ManifestItem",
    "ManifestPlanner",
    "Plan",
    "PlanTotals",
    "PlannerConfig",
    "SkippedFile",
    "plan_records",
]
