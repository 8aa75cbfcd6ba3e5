"""Which registered files belong in which dataset, and the actions that make Encord agree.

Plain Python: no Dagster, no SDK. The sync step (`pipeline/dataset_sync.py`) feeds it the
ledger's view of the files and their recorded links, and carries out the plan.

- `check_rules`: a `where:` key the metadata schema does not declare, or a value it refuses, is
  a ConfigError naming the dataset and the key.
- `desired_links`: per dataset, the items whose files match the rule. A rule matches an item
  when one of its files' keys matches an `include` glob (relative to the source prefix; none:
  every file) and its clientMetadata has every `where` value. An image group, sequence or DICOM
  series is one item for all its files, matched on its shared (group-level) metadata.
- `heal`: links left `linking` or `unlinking` by a crash, settled from the dataset's rows.
- `plan_dataset`: desired against recorded links: items to link, data rows to unlink, rows to
  record or drop without a request. A link whose files are gone from the bucket follows
  `on_delete`; a link whose file is on its way to Encord again is left alone until it lands.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from dagster_encord.errors import ConfigError
from dagster_encord.ledger.models import DatasetLink
from dagster_encord.ledger.states import LinkState
from dagster_encord.sources.filters import KeyFilter

if TYPE_CHECKING:
    from dagster_encord.config import DatasetRule
    from dagster_encord.metadata.schema import DeclaredSchema

OnDelete = Literal["keep", "unlink", "delete"]


class Presence(StrEnum):
    """Where a file stands, as far as its dataset links are concerned."""

    LIVE = "live"  # registered: its item is in Encord
    GONE = "gone"  # deleted from the bucket (after a complete listing)
    PENDING = "pending"  # on its way to Encord again (changed, failed, ...): links left alone


@dataclass(frozen=True, slots=True)
class RegisteredItem:
    """A storage item and the files it holds (one, or a group's members), with its metadata."""

    item_uuid: str
    keys: tuple[str, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class DatasetPlan:
    """What one dataset needs; each action names the ledger rows it settles."""

    link: dict[str, tuple[str, ...]] = field(default_factory=dict)  # item uuid -> keys
    adopt: list[tuple[str, str, str]] = field(default_factory=list)  # (key, item, data hash)
    unlink: dict[str, tuple[str, ...]] = field(default_factory=dict)  # data hash -> keys
    drop: list[str] = field(default_factory=list)  # keys whose rows are forgotten
    kept: int = 0  # files gone from the bucket whose links stay (on_delete: keep)

    @property
    def writes(self) -> bool:
        return bool(self.link or self.unlink)


@dataclass
class Healed:
    """Links a crash left marked, settled from the dataset's rows."""

    linked: list[tuple[str, str, str]] = field(default_factory=list)  # (key, item, data hash)
    not_linked: list[str] = field(default_factory=list)  # keys: the link call never landed
    still_there: list[str] = field(default_factory=list)  # data hashes: unlink never landed
    unlinked: list[str] = field(default_factory=list)  # data hashes: the unlink landed

    @property
    def count(self) -> int:
        return len(self.linked) + len(self.not_linked) + len(self.still_there) + len(self.unlinked)


class RuleMatcher:
    """One dataset rule, compiled: include globs on the key and metadata equalities."""

    def __init__(self, rule: DatasetRule, prefix: str = "") -> None:
        self.title = rule.title
        self._include = KeyFilter(rule.include, base=prefix) if rule.include else None
        self._where = dict(rule.where)

    def __call__(self, item: RegisteredItem) -> bool:
        if self._include is not None and not any(self._include(key) for key in item.keys):
            return False
        return all(
            key in item.metadata and _equal(item.metadata[key], wanted)
            for key, wanted in self._where.items()
        )


def _equal(actual: Any, wanted: Any) -> bool:
    """Equality that keeps true apart from 1 (JSON does)."""
    if isinstance(actual, bool) or isinstance(wanted, bool):
        return type(actual) is type(wanted) and actual == wanted
    return bool(actual == wanted)


def needs_metadata(rules: Sequence[DatasetRule]) -> bool:
    return any(rule.where for rule in rules)


def check_rules(
    rules: Sequence[DatasetRule],
    schema: DeclaredSchema | None,
    *,
    has_metadata: bool,
    pipeline: str,
) -> None:
    """ConfigError for a `where:` the pipeline cannot evaluate (see the module docstring)."""
    for index, rule in enumerate(rules):
        if not rule.where:
            continue
        where = f"pipeline {pipeline!r}: datasets[{index}] ({rule.title}).where"
        if not has_metadata:
            raise ConfigError(
                f"{where}: matches on clientMetadata but the pipeline has none; add a metadata: "
                "section (sidecar, mapping, path_regex) or pass metadata_provider"
            )
        if schema is None:
            continue
        for key in rule.where:
            if key not in schema.keys:
                declared = ", ".join(sorted(schema.keys)) or "none"
                raise ConfigError(
                    f"{where}: key {key!r} is not declared in the metadata schema "
                    f"{schema.origin} (declared: {declared}); fix the spelling or declare it"
                )
        from dagster_encord.metadata.validate import MetadataValidator

        errors = MetadataValidator(schema, unknown_keys="allow").errors(rule.where, file=where)
        if errors:
            raise ConfigError("\n".join(str(error) for error in errors))


def desired_links(
    rules: Sequence[DatasetRule], items: Iterable[RegisteredItem], prefix: str = ""
) -> dict[str, dict[str, tuple[str, ...]]]:
    """Per dataset title: item uuid -> the item's keys, for every item the rule matches."""
    matchers = [RuleMatcher(rule, prefix) for rule in rules]
    desired: dict[str, dict[str, tuple[str, ...]]] = {rule.title: {} for rule in rules}
    for item in items:
        for matcher in matchers:
            if matcher(item):
                desired[matcher.title][item.item_uuid] = item.keys
    return desired


def heal(pending: Sequence[DatasetLink], rows_by_item: Mapping[str, str]) -> Healed:
    """Settle `linking`/`unlinking` links from the dataset's rows (item uuid -> data hash)."""
    present = set(rows_by_item.values())
    healed = Healed()
    for link in pending:
        if link.state == LinkState.LINKING:
            data_hash = rows_by_item.get(link.item_uuid)
            if data_hash is None:
                healed.not_linked.append(link.key)
            else:
                healed.linked.append((link.key, link.item_uuid, data_hash))
        elif link.state == LinkState.UNLINKING and link.data_hash is not None:
            target = healed.still_there if link.data_hash in present else healed.unlinked
            if link.data_hash not in target:
                target.append(link.data_hash)
    return healed


def plan_dataset(
    desired: Mapping[str, tuple[str, ...]],
    recorded: Sequence[DatasetLink],
    presence: Mapping[str, Presence],
    on_delete: OnDelete,
) -> DatasetPlan:
    """Desired items (uuid -> keys) against the dataset's recorded links (all `linked`: heal
    first); `presence` says where each key's file stands (a key it lacks counts as pending)."""
    unsettled = [link.key for link in recorded if link.state != LinkState.LINKED]
    if unsettled:
        raise ValueError(f"heal the links of {unsettled[:3]} before planning")
    plan = DatasetPlan()
    by_item: dict[str, list[DatasetLink]] = {}
    for link in recorded:
        by_item.setdefault(link.item_uuid, []).append(link)
    for item_uuid, keys in desired.items():
        links = by_item.get(item_uuid)
        if links is None:
            plan.link[item_uuid] = keys
            continue
        data_hash = links[0].data_hash
        assert data_hash is not None  # linked rows carry their data row
        recorded_keys = {link.key for link in links}
        plan.adopt += [(key, item_uuid, data_hash) for key in keys if key not in recorded_keys]
        plan.drop += [link.key for link in links if link.key not in keys]
    for item_uuid, links in by_item.items():
        if item_uuid in desired:
            continue
        states = {presence.get(link.key, Presence.PENDING) for link in links}
        if Presence.PENDING in states:
            continue  # a file re-registering: decide once it has its item
        data_hash = links[0].data_hash
        assert data_hash is not None
        if states == {Presence.GONE} and on_delete == "keep":
            plan.kept += len(links)
            continue
        plan.unlink[data_hash] = tuple(link.key for link in links)
    return plan


def items_to_delete(
    gone_items: Mapping[str, Collection[str]], on_delete: OnDelete
) -> dict[str, tuple[str, ...]]:
    """Storage items to delete (item uuid -> keys): those of files gone from the bucket, all of
    whose files are gone, under `on_delete: delete`."""
    if on_delete != "delete":
        return {}
    return {item_uuid: tuple(sorted(keys)) for item_uuid, keys in gone_items.items()}
