"""metadata: the declared schema, validation of clientMetadata, metadata sources, upsert plans.

Executing them against Encord (through `EncordClient` only): `schema_sync`, `upsert_execute`,
`frame_execute`, `item_metadata`.
"""

from dagster_encord.metadata.planning import validated_group_metadata_for, validated_metadata_for
from dagster_encord.metadata.schema import (
    DeclaredSchema,
    EmbeddingKey,
    EnumKey,
    ScalarKey,
    diff_schema,
    embedding,
    enum,
    load_schema,
    scalar,
)
from dagster_encord.metadata.sources import (
    FromCallable,
    FromPath,
    MappingFile,
    MetadataProvider,
    MetadataSources,
    SidecarJson,
)
from dagster_encord.metadata.upsert import MetadataUpdate, UpsertPlan, plan_upserts
from dagster_encord.metadata.validate import MetadataValidator, MetadataViolation, validate_many

__all__ = [
    "DeclaredSchema",
    "EmbeddingKey",
    "EnumKey",
    "FromCallable",
    "FromPath",
    "MappingFile",
    "MetadataProvider",
    "MetadataSources",
    "MetadataUpdate",
    "MetadataValidator",
    "MetadataViolation",
    "ScalarKey",
    "SidecarJson",
    "UpsertPlan",
    "diff_schema",
    "embedding",
    "enum",
    "load_schema",
    "plan_upserts",
    "scalar",
    "validate_many",
    "validated_group_metadata_for",
    "validated_metadata_for",
]
