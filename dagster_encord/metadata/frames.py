"""Per-frame metadata of image groups and sequences (seed 003): what to patch on which frame, and
the fingerprint the ledger keeps per member file. Pure: no SDK, no I/O.

Encord keeps a group's clientMetadata on the group; the keys its members do not share go to each
member's frame (a child item), patched once the group exists. Each member file's ledger row holds
`member_fingerprint(group part, its frame part)`. For a member without per-frame keys that is the
fingerprint of the group part, which is what planning stores for an inline-registered group, so a
group without per-frame metadata costs no request. A change in one frame changes that member's
fingerprint alone; a change in the group part changes every member's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dagster_encord.metadata.upsert import MetadataUpdate, metadata_fingerprint
from dagster_encord.metadata.validate import MetadataValidator


def member_fingerprint(group: Mapping[str, Any], frame: Mapping[str, Any] | None) -> str:
    """The fingerprint of one group member's wanted metadata: the group part and its frame."""
    if not frame:
        return metadata_fingerprint(group)
    return metadata_fingerprint({"group": dict(group), "frame": dict(frame)})


@dataclass(frozen=True)
class FrameUpdate:
    """The members of one group item whose fingerprint changed.

    `frames` maps a member's object URL to the per-frame keys to patch on its frame (members
    without per-frame keys are absent); `fingerprints` maps every changed member's URL to the
    fingerprint to record once its frame (if any) is verified and the group part (sent under
    `group_url`, the first member's URL) did not fail.
    """

    group_item_uuid: str
    group_url: str
    frames: Mapping[str, Mapping[str, Any]]
    fingerprints: Mapping[str, str]


@dataclass(frozen=True)
class CollectedUpdates:
    """Group- and file-level updates (`MetadataUpdate`) and per-frame updates of group items."""

    updates: tuple[MetadataUpdate, ...]
    frames: tuple[FrameUpdate, ...] = ()


@dataclass(frozen=True)
class FramePlan:
    """Frames to patch: group item uuid -> frame URL -> metadata; invalid frames by URL."""

    updates: tuple[FrameUpdate, ...]
    patches: Mapping[str, Mapping[str, Mapping[str, Any]]]
    rejected: Mapping[str, str]

    @property
    def frame_count(self) -> int:
        return sum(len(frames) for frames in self.patches.values())


def plan_frames(
    updates: Iterable[FrameUpdate], *, validator: MetadataValidator | None = None
) -> FramePlan:
    """Validate each frame's metadata; a frame that fails is rejected alone, never sent."""
    kept = tuple(updates)
    patches: dict[str, dict[str, Mapping[str, Any]]] = {}
    rejected: dict[str, str] = {}
    for update in kept:
        for url, metadata in update.frames.items():
            errors = validator.errors(metadata, file=url) if validator is not None else []
            if errors:
                rejected[url] = "; ".join(str(error) for error in errors)
            else:
                patches.setdefault(update.group_item_uuid, {})[url] = metadata
    return FramePlan(kept, patches, rejected)


@dataclass
class FrameReport:
    """The outcome of per-frame upserts. `verified` lists frame URLs whose metadata was read back
    as sent (or found already stored); `errors` maps frame URL -> message."""

    plan: FramePlan
    patched: int = 0
    unchanged: int = 0
    verified: set[str] = field(default_factory=set)
    errors: dict[str, str] = field(default_factory=dict)

    def fingerprints(self, group_errors: Mapping[str, str]) -> dict[str, str]:
        """Member URL -> fingerprint to record: members whose frame is verified or had nothing
        to send, in groups whose group part did not fail (`group_errors` is keyed by URL)."""
        done: dict[str, str] = {}
        for update in self.plan.updates:
            if update.group_url in group_errors:
                continue
            for url, digest in update.fingerprints.items():
                if url not in update.frames or url in self.verified:
                    done[url] = digest
        return done
