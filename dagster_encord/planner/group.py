"""Grouping: which records form one multi-file Encord item, in which order, and when it is ready.

Rules (`PlannerConfig.groups`) are tried in order; the first whose `match` glob and (for `by:
regex`) pattern match a record's key claims it. DICOM files no rule claims form one series per
folder. The group key is

- `by: folder`: the key's folder (`scans/p1/s2/001.dcm` -> `scans/p1/s2`);
- `by: prefix`: folder plus the file name up to its last `prefix_separator`
  (`cams/left_0001.jpg` -> `cams/left`);
- `by: regex`: the named group `group` of the pattern; an optional named group `order` supplies
  the sort key for members.

Members are ordered by natural sort of the `order` capture (or the key), or by an explicit list of
file names (names not listed follow, in natural order). With a quiet period, a group whose newest
member arrived less than N minutes before `now` is held back (`HeldGroup`) and planned on a later
run, so a half-uploaded series is never registered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase

from natsort import natsort_keygen

from dagster_encord.planner.classify import DataType
from dagster_encord.planner.config import GroupRule
from dagster_encord.sources.base import ObjectRecord

_DEFAULT_DICOM_RULE = GroupRule(kind="dicom_series", by="folder")
_natural = natsort_keygen()


@dataclass(frozen=True, slots=True)
class GroupMatch:
    rule: GroupRule
    group: str
    order_key: str

    @property
    def item_key(self) -> str:
        return f"{self.rule.kind}:{self.group}"


@dataclass(frozen=True, slots=True)
class HeldGroup:
    """A group still inside its quiet period; it is planned once `ready_at` has passed."""

    item_key: str
    keys: tuple[str, ...]
    newest_member_at: datetime
    ready_at: datetime


def folder_of(key: str) -> str:
    return key.rsplit("/", 1)[0] if "/" in key else ""


class Grouper:
    """Assigns records to groups with the configured rules."""

    def __init__(self, rules: tuple[GroupRule, ...]) -> None:
        self._rules = [(rule, re.compile(rule.pattern) if rule.pattern else None) for rule in rules]
        self._rules.append((_DEFAULT_DICOM_RULE, None))

    def match(self, record: ObjectRecord, data_type: DataType) -> GroupMatch | None:
        key = record.key
        for rule, pattern in self._rules:
            if rule.data_type is not data_type:
                continue
            if rule.match is not None and not fnmatchcase(key, rule.match):
                continue
            if rule.by == "folder":
                return GroupMatch(rule, folder_of(key), key)
            if rule.by == "prefix":
                folder = folder_of(key)
                name = key.rsplit("/", 1)[-1]
                head = (
                    name.rsplit(rule.prefix_separator, 1)[0]
                    if rule.prefix_separator in name
                    else name.rsplit(".", 1)[0]
                )
                return GroupMatch(rule, f"{folder}/{head}" if folder else head, key)
            assert pattern is not None
            found = pattern.search(key)
            if found is None:
                continue
            order = found.groupdict().get("order")
            return GroupMatch(rule, found["group"], order if order is not None else key)
        return None


def order_members(rule: GroupRule, members: list[tuple[str, ObjectRecord]]) -> list[ObjectRecord]:
    """Sort (order_key, record) pairs by the rule's ordering."""
    if rule.order == "explicit":
        position = {name: index for index, name in enumerate(rule.explicit_order)}
        unlisted = len(position)

        def explicit(pair: tuple[str, ObjectRecord]) -> tuple[int, object]:
            name = pair[1].key.rsplit("/", 1)[-1]
            return (position.get(name, unlisted), _natural(pair[1].key))

        return [record for _, record in sorted(members, key=explicit)]
    return [
        record for _, record in sorted(members, key=lambda pair: (_natural(pair[0]), pair[1].key))
    ]


def quiet_hold(
    item_key: str, members: list[ObjectRecord], quiet_minutes: float, now: datetime
) -> HeldGroup | None:
    """The hold for this group if its newest member is still inside the quiet period."""
    if quiet_minutes <= 0:
        return None
    newest = max(_aware(record.last_modified) for record in members)
    ready_at = newest + timedelta(minutes=quiet_minutes)
    if _aware(now) >= ready_at:
        return None
    return HeldGroup(item_key, tuple(record.key for record in members), newest, ready_at)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
