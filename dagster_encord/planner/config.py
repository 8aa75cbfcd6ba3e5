"""The planner's configuration model, loaded from a mapping (YAML/JSON file or run config).

```yaml
format: json                 # or csv (seed 002's CSV rules)
upsert_metadata: false       # add "upsert_metadata": true to JSON manifests
title_template: null         # null: Encord's default title (the file path); or e.g. "{stem}"
quiet_period_minutes: 0      # hold a group until no member arrived for this long
extensions: {".raw": image}  # merged over the defaults in classify.py
content_types: {}            # merged over the defaults in classify.py
budget: {image: 1000, video: 100}   # URLs per chunk and lane, merged over DEFAULT_BUDGET
packing: dense               # dense (chunks ~0.9 full) | stable (~1/3 full, strict locality)
groups:                      # first matching rule wins; DICOM falls back to one series per folder
  - kind: image_sequence     # image_group | image_sequence | dicom_series
    by: regex                # folder | prefix | regex
    match: "cams/*"          # fnmatch glob on the key (`*` also matches `/`); none: all
    pattern: "cams/(?P<group>[^/]+)/frame_(?P<order>\\d+)\\.jpg"
    order: natural           # natural | explicit
    explicit_order: []       # file names in order, for order: explicit
    title: "{group}"
```
Budgets are hard-capped by Encord's limits (`limits.py`); an invalid mapping raises
`PlanningError` naming the key and the allowed values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from dagster_encord.errors import PlanningError
from dagster_encord.planner.chunking import PACKINGS, Packing
from dagster_encord.planner.classify import (
    DEFAULT_CONTENT_TYPES,
    DEFAULT_EXTENSIONS,
    DataType,
)
from dagster_encord.planner.limits import MAX_ITEMS_PER_MANIFEST, MAX_URLS_PER_MANIFEST

GroupKind = Literal["image_group", "image_sequence", "dicom_series"]
GroupBy = Literal["folder", "prefix", "regex"]
ManifestFormat = Literal["json", "csv"]

# Lanes: the kinds of manifest item. Each chunk holds items of one lane only.
LANES: tuple[str, ...] = (
    "image",
    "video",
    "audio",
    "text",
    "pdf",
    "nifti",
    "image_group",
    "image_sequence",
    "dicom_series",
)

# URLs per chunk for each lane. Encord advises at most 1,000 images or 100 videos per upload;
# audio and NIfTI volumes are media-heavy like videos, DICOM/text/PDF files light like images.
DEFAULT_BUDGET: dict[str, int] = {
    "image": 1000,
    "video": 100,
    "audio": 100,
    "text": 1000,
    "pdf": 1000,
    "nifti": 100,
    "image_group": 1000,
    "image_sequence": 1000,
    "dicom_series": 1000,
}

_GROUP_TYPES: dict[str, DataType] = {
    "image_group": DataType.IMAGE,
    "image_sequence": DataType.IMAGE,
    "dicom_series": DataType.DICOM,
}


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise PlanningError(f"planner config {name!r}: got {value!r}, expected one of {allowed}")
    return str(value)


def _check_template(name: str, template: str, fields_: tuple[str, ...]) -> None:
    try:
        template.format(**dict.fromkeys(fields_, "x"))
    except (KeyError, IndexError, ValueError) as error:
        raise PlanningError(
            f"planner config {name!r}: template {template!r} is invalid ({error!r}); it may use "
            f"{', '.join('{' + f + '}' for f in fields_)}"
        ) from None


@dataclass(frozen=True)
class GroupRule:
    """How to build multi-file items (image groups, image sequences, DICOM series)."""

    kind: GroupKind
    by: GroupBy = "folder"
    match: str | None = None
    pattern: str | None = None
    prefix_separator: str = "_"
    order: Literal["natural", "explicit"] = "natural"
    explicit_order: tuple[str, ...] = ()
    title: str = "{group}"

    def __post_init__(self) -> None:
        _choice("groups[].kind", self.kind, ("image_group", "image_sequence", "dicom_series"))
        _choice("groups[].by", self.by, ("folder", "prefix", "regex"))
        _choice("groups[].order", self.order, ("natural", "explicit"))
        if self.by == "regex":
            if not self.pattern:
                raise PlanningError(
                    "planner config groups[].pattern: `by: regex` needs a pattern with a named "
                    "group, e.g. '(?P<group>[^/]+)/frame_\\d+\\.jpg'"
                )
            try:
                compiled = re.compile(self.pattern)
            except re.error as error:
                raise PlanningError(
                    f"planner config groups[].pattern {self.pattern!r} is not a valid regex: "
                    f"{error}"
                ) from error
            if "group" not in compiled.groupindex:
                raise PlanningError(
                    f"planner config groups[].pattern {self.pattern!r} has no named group "
                    "'group'; add (?P<group>...) around the part that names the group"
                )
        _check_template("groups[].title", self.title, ("group", "folder", "count"))
        if self.order == "explicit" and not self.explicit_order:
            raise PlanningError(
                "planner config groups[].explicit_order: `order: explicit` needs the list of "
                "file names in order"
            )

    @property
    def data_type(self) -> DataType:
        return _GROUP_TYPES[self.kind]

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> GroupRule:
        _reject_unknown("groups[]", raw, cls)
        values = dict(raw)
        if "explicit_order" in values:
            values["explicit_order"] = tuple(values["explicit_order"])
        return cls(**values)


DEFAULT_GROUP_RULES: tuple[GroupRule, ...] = (GroupRule(kind="dicom_series", by="folder"),)


@dataclass(frozen=True)
class PlannerConfig:
    """Everything the planner needs besides the records themselves."""

    format: ManifestFormat = "json"
    upsert_metadata: bool = False
    title_template: str | None = None
    quiet_period_minutes: float = 0.0
    extensions: Mapping[str, DataType] = field(default_factory=lambda: dict(DEFAULT_EXTENSIONS))
    content_types: Mapping[str, DataType] = field(
        default_factory=lambda: dict(DEFAULT_CONTENT_TYPES)
    )
    budget: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_BUDGET))
    groups: tuple[GroupRule, ...] = DEFAULT_GROUP_RULES
    # How items are packed into chunks; see chunking.py for each mode's locality guarantee.
    packing: Packing = "dense"

    def __post_init__(self) -> None:
        _choice("format", self.format, ("json", "csv"))
        _choice("packing", self.packing, PACKINGS)
        if self.title_template is not None:
            _check_template(
                "title_template", self.title_template, ("key", "name", "stem", "suffix", "folder")
            )
        if self.quiet_period_minutes < 0:
            raise PlanningError(
                f"planner config 'quiet_period_minutes': got {self.quiet_period_minutes}, "
                "expected 0 or more minutes"
            )
        for lane, urls in self.budget.items():
            _choice("budget", lane, LANES)
            if not isinstance(urls, int) or urls < 1:
                raise PlanningError(
                    f"planner config budget[{lane!r}]: got {urls!r}, expected a whole number >= 1"
                )
            if urls > MAX_URLS_PER_MANIFEST:
                raise PlanningError(
                    f"planner config budget[{lane!r}] = {urls:,} URLs is over Encord's limit of "
                    f"{MAX_URLS_PER_MANIFEST:,} URLs per manifest; lower it"
                )
            if lane in ("image", "video", "audio", "text", "pdf", "nifti") and (
                urls > MAX_ITEMS_PER_MANIFEST
            ):
                raise PlanningError(
                    f"planner config budget[{lane!r}] = {urls:,} items is over Encord's limit of "
                    f"{MAX_ITEMS_PER_MANIFEST:,} items per manifest; lower it"
                )

    def budget_for(self, lane: str) -> int:
        return int(self.budget.get(lane, DEFAULT_BUDGET[lane]))

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> PlannerConfig:
        """Build from plain data; missing keys take the defaults, unknown keys are errors."""
        _reject_unknown("", raw, cls)
        values: dict[str, Any] = dict(raw)
        if "extensions" in values:
            values["extensions"] = {
                **DEFAULT_EXTENSIONS,
                **{k.lower(): _data_type(k, v) for k, v in values["extensions"].items()},
            }
        if "content_types" in values:
            values["content_types"] = {
                **DEFAULT_CONTENT_TYPES,
                **{k.lower(): _data_type(k, v) for k, v in values["content_types"].items()},
            }
        if "budget" in values:
            values["budget"] = {**DEFAULT_BUDGET, **values["budget"]}
        if "groups" in values:
            rules = tuple(GroupRule.from_mapping(rule) for rule in values["groups"] or ())
            if not any(rule.kind == "dicom_series" for rule in rules):
                rules += DEFAULT_GROUP_RULES
            values["groups"] = rules
        if "quiet_period_minutes" in values:
            values["quiet_period_minutes"] = float(values["quiet_period_minutes"])
        return cls(**values)

    @classmethod
    def load(cls, path: str | Path) -> PlannerConfig:
        """Read a YAML or JSON file (by extension; YAML is the default)."""
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as error:
            raise PlanningError(f"planner config {path}: cannot be read ({error})") from error
        if path.suffix.lower() == ".json":
            raw = json.loads(text)
        else:
            import yaml

            raw = yaml.safe_load(text)
        if not isinstance(raw, Mapping):
            raise PlanningError(f"planner config {path}: expected a mapping at the top level")
        return cls.from_mapping(raw)


def _data_type(key: str, value: Any) -> DataType:
    try:
        return DataType(value)
    except ValueError:
        allowed = tuple(kind.value for kind in DataType)
        raise PlanningError(
            f"planner config mapping for {key!r}: got {value!r}, expected one of {allowed}"
        ) from None


def _reject_unknown(where: str, raw: Mapping[str, Any], model: type) -> None:
    known = {item.name for item in fields(model)}
    unknown = sorted(set(raw) - known)
    if unknown:
        prefix = f"{where}." if where else ""
        raise PlanningError(
            f"planner config: unknown key(s) {', '.join(prefix + k for k in unknown)}; "
            f"known keys are {', '.join(sorted(known))}"
        )
