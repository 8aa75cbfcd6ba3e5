"""The planner's metadata hooks: invalid files are skipped with the reason, the others planned."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from dagster_encord.metadata.planning import validated_group_metadata_for, validated_metadata_for
from dagster_encord.metadata.schema import DeclaredSchema, enum, scalar
from dagster_encord.metadata.sources import FromCallable
from dagster_encord.metadata.validate import MetadataValidator
from dagster_encord.planner.plan import plan_records
from dagster_encord.sources.base import ObjectRecord

SCHEMA = DeclaredSchema.of(scalar("shard", "number"), enum("weather", ["sunny", "rainy"]))
BUCKET = "https://b.s3.eu-west-2.amazonaws.com"


def _record(key: str) -> ObjectRecord:
    return ObjectRecord(key, f"{BUCKET}/{key}", 10, "v1", datetime(2024, 1, 1, tzinfo=UTC))


def test_invalid_metadata_skips_only_that_file() -> None:
    metadata = {
        "a.jpg": {"shard": 1, "weather": "sunny"},
        "b.jpg": {"shard": "one", "weather": "hail"},
        "c.jpg": None,
    }
    provider = FromCallable(lambda r: metadata[r.key])
    plan = plan_records(
        [_record(k) for k in metadata],
        metadata_for=validated_metadata_for(provider, MetadataValidator(SCHEMA)),
    )
    manifest = json.loads(plan.chunks[0].manifest_text())
    assert manifest["images"] == [
        {"objectUrl": f"{BUCKET}/a.jpg", "clientMetadata": {"shard": 1, "weather": "sunny"}},
        {"objectUrl": f"{BUCKET}/c.jpg"},
    ]
    assert [s.key for s in plan.skipped] == ["b.jpg"]
    reason = plan.skipped[0].reason
    assert (
        "'shard'" in reason and "'one'" in reason and "'weather'" in reason and "'hail'" in reason
    )


def test_group_metadata_is_the_shared_keys_validated() -> None:
    hook = validated_group_metadata_for(
        FromCallable(lambda r: {"weather": "rainy", "frame": r.key}), MetadataValidator(SCHEMA)
    )
    members = [_record("seq/0.jpg"), _record("seq/1.jpg")]
    assert hook("seq", members) == {"weather": "rainy"}
