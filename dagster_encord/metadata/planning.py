"""The planner's metadata hooks: metadata from the user's sources, validated before anything is
sent. Pass them to `Ledger.plan(metadata_for=..., group_metadata_for=...)` or `plan_records`.

An invalid file raises `MetadataValidationError` naming the file, every bad key, what was expected
and what was found; the planner then skips that file alone (the ledger keeps it as `skipped`
with the message and re-checks it on the next plan), and the other files proceed. Warnings
(undeclared keys under the `warn` policy) are logged and do not block.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dagster_encord.errors import MetadataValidationError
from dagster_encord.metadata.sources import MetadataProvider, group_metadata
from dagster_encord.metadata.validate import MetadataValidator, MetadataViolation
from dagster_encord.sources.base import ObjectRecord

log = logging.getLogger(__name__)


def _checked(validator: MetadataValidator, metadata: Any, file: str) -> Mapping[str, Any] | None:
    if metadata is None:
        return None
    violations = validator.validate(metadata, file=file)
    errors: list[MetadataViolation] = []
    for violation in violations:
        if violation.severity == "error":
            errors.append(violation)
        else:
            log.warning("%s", violation)
    if errors:
        raise MetadataValidationError("; ".join(str(e) for e in errors))
    checked: Mapping[str, Any] = metadata
    return checked


def validated_metadata_for(
    provider: MetadataProvider, validator: MetadataValidator
) -> Callable[[ObjectRecord], Mapping[str, Any] | None]:
    """`metadata_for` for the planner: one file's metadata, validated."""

    def metadata_for(record: ObjectRecord) -> Mapping[str, Any] | None:
        return _checked(validator, provider.metadata_for(record), record.object_url)

    return metadata_for


def validated_group_metadata_for(
    provider: MetadataProvider, validator: MetadataValidator
) -> Callable[[str, Sequence[ObjectRecord]], Mapping[str, Any] | None]:
    """`group_metadata_for` for the planner: an image group's or sequence's metadata is the keys
    its members share (Encord keeps clientMetadata per group), validated."""

    def metadata_for_group(group: str, members: Sequence[ObjectRecord]) -> Mapping[str, Any] | None:
        shared, _per_frame = group_metadata([provider.metadata_for(m) for m in members])
        return _checked(validator, shared or None, f"group {group!r}")

    return metadata_for_group
