"""The live ontology plus an ontology file: what to save, feature by feature (pure, no Encord).

Changes are additive. A feature in the file that Encord lacks is added (the file's feature hash
and id are kept when free, so a JSON export recreates the same features). A feature both have is
matched by feature hash, else by name (an option by value, a classification by its question);
the file's explicit settings (name, colour, required, dynamic, archived, label) update it, while
its shape or attribute type can never change, since labels already use it. A live feature the
file does not list is kept and reported, unless `allow_removals` is set: removing a feature
orphans the labels that use it.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dagster_encord.annotation.ontology import FeatureSpec, OntologySpec
from dagster_encord.errors import OntologyError

EMPTY_STRUCTURE: Mapping[str, Any] = {"objects": [], "classifications": []}
# Encord's object colours, in the order its editor proposes them.
PALETTE = (
    "#D33115",
    "#E27300",
    "#FCC400",
    "#B0BC00",
    "#68BC00",
    "#16A5A5",
    "#009CE0",
    "#7B64FF",
    "#FA28FF",
    "#333333",
)
# Per kind: the fields the file may change on a live feature, and the key of its children.
_UPDATABLE = {
    "object": ("name", "color", "required", "archived"),
    "classification": ("level",),
    "attribute": ("name", "required", "dynamic", "archived"),
    "option": ("label", "archived"),
}
_CHILDREN = {"object": "attributes", "classification": "attributes", "attribute": "options"}
_CHILD_KIND = {"object": "attribute", "classification": "attribute", "attribute": "option"}


@dataclass
class OntologyPlan:
    """The structure to save and what it changes, each feature named by its path."""

    structure: dict[str, Any]
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # live, not in the file, not removed

    @property
    def needs_save(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def plan_ontology(
    live: Mapping[str, Any], spec: OntologySpec, *, allow_removals: bool = False
) -> OntologyPlan:
    """Merge `spec` into `live` (an editor structure as `OntologyStructure.to_dict()` gives it).

    Raises `OntologyError` when the file would change a live feature's shape or type."""
    return _Merger(live, spec, allow_removals).run()


class _Merger:
    def __init__(self, live: Mapping[str, Any], spec: OntologySpec, allow_removals: bool) -> None:
        self.live = live
        self.spec = spec
        self.allow_removals = allow_removals
        self.plan = OntologyPlan(structure={})
        self.live_hashes = set(_all_hashes(live))
        # Hashes a fresh one must avoid: live ones, the file's, and those given out already.
        self.taken_hashes = self.live_hashes | set(spec.feature_hashes)

    def run(self) -> OntologyPlan:
        objects = self.merge_list(
            list(self.live.get("objects", [])), self.spec.objects, "object", None, ""
        )
        classifications = self.merge_list(
            list(self.live.get("classifications", [])),
            self.spec.classifications,
            "classification",
            None,
            "",
        )
        self.plan.structure = {
            "objects": objects,
            "classifications": classifications,
            "skeleton_templates": list(self.live.get("skeleton_templates", [])),
        }
        return self.plan

    def merge_list(
        self,
        live_nodes: list[dict[str, Any]],
        specs: Sequence[FeatureSpec],
        kind: str,
        parent_id: str | None,
        path: str,
    ) -> list[dict[str, Any]]:
        matched: dict[int, FeatureSpec] = {}
        new: list[FeatureSpec] = []
        for spec in specs:
            index = _find(live_nodes, spec, kind, set(matched))
            if index is None:
                new.append(spec)
            else:
                matched[index] = spec
        merged: list[dict[str, Any]] = []
        for index, node in enumerate(live_nodes):
            if index in matched:
                merged.append(self.merge_node(node, matched[index], kind, path))
            elif self.allow_removals:
                self.plan.removed.append(_path(path, kind, _key(node, kind)))
            else:
                self.plan.kept.append(_path(path, kind, _key(node, kind)))
                merged.append(node)
        taken_ids = {
            local for node in live_nodes if (local := _last_id(node.get("id"))) is not None
        }
        for spec in new:
            merged.append(self.new_node(spec, kind, parent_id, taken_ids, path, len(merged)))
        return merged

    def merge_node(
        self, live: dict[str, Any], spec: FeatureSpec, kind: str, path: str
    ) -> dict[str, Any]:
        here = _path(path, kind, spec.fields.get("label", spec.key))
        for fixed in ("shape", "type"):
            if fixed in spec.fields and spec.fields[fixed] != live.get(fixed):
                raise OntologyError(
                    f"{self.spec.origin}: {spec.where}: {here} is a {live.get(fixed)} in Encord's "
                    f"ontology, the file says {spec.fields[fixed]}; a feature's {fixed} cannot "
                    "change (labels use it): give the new one another name"
                )
        node = dict(live)
        changes = [
            name
            for name in _UPDATABLE[kind]
            if name in spec.fields
            and _comparable(name, spec.fields[name]) != _comparable(name, live.get(name))
        ]
        for name in changes:
            node[name] = spec.fields[name]
        if changes:
            self.plan.changed.append(f"{here} ({', '.join(changes)})")
        child_key = _children_key(kind, live)
        if child_key is not None:
            children = self.merge_list(
                [dict(child) for child in live.get(child_key, [])],
                spec.children,
                _CHILD_KIND.get(kind, "attribute"),
                str(live.get("id")),
                here,
            )
            if children or child_key in live:
                node[child_key] = children
        return node

    def new_node(
        self,
        spec: FeatureSpec,
        kind: str,
        parent_id: str | None,
        taken_ids: set[int],
        path: str,
        position: int,
        *,
        report: bool = True,
    ) -> dict[str, Any]:
        """A new feature (reported once: its own new children come with it)."""
        here = _path(path, kind, spec.fields.get("label", spec.key))
        if report:
            self.plan.added.append(here)
        local = _last_id(spec.uid)
        if local is None or local in taken_ids:
            local = max(taken_ids | {0}) + 1
        taken_ids.add(local)
        node_id = str(local) if parent_id is None else f"{parent_id}.{local}"
        feature_hash = spec.feature_hash
        if feature_hash is None or feature_hash in self.live_hashes:
            feature_hash = self.fresh_hash()  # the file's hash is another live feature's
        self.taken_hashes.add(feature_hash)
        fields = spec.fields
        node: dict[str, Any] = {"id": node_id}
        if kind == "object":
            node.update(
                name=fields["name"],
                color=fields.get("color", PALETTE[position % len(PALETTE)]),
                shape=fields["shape"],
            )
        elif kind == "attribute":
            node.update(name=fields["name"], type=fields["type"])
        elif kind == "option":
            node.update(label=fields["label"], value=fields["value"])
        node["featureNodeHash"] = feature_hash
        if kind in ("object", "attribute"):
            node["required"] = fields.get("required", False)
        if kind != "classification":
            node["archived"] = fields.get("archived", False)
        if kind == "attribute":
            node["dynamic"] = fields.get("dynamic", False)
        if "level" in fields:
            node["level"] = fields["level"]
        child_kind = _CHILD_KIND.get(kind, "attribute")
        child_ids: set[int] = set()
        children = [
            self.new_node(child, child_kind, node_id, child_ids, here, index, report=False)
            for index, child in enumerate(spec.children)
        ]
        # Shaped as the SDK writes it: radio/checklist always list options; others only children.
        if kind == "attribute" and fields["type"] in ("radio", "checklist"):
            node["options"] = children
        elif children:
            node["attributes" if kind in ("object", "classification") else "options"] = children
        return node

    def fresh_hash(self) -> str:
        while True:
            candidate = base64.b64encode(uuid.uuid4().bytes[:6]).decode("ascii")
            if candidate not in self.taken_hashes:
                return candidate


def _find(
    live_nodes: Sequence[Mapping[str, Any]], spec: FeatureSpec, kind: str, used: set[int]
) -> int | None:
    """The live node `spec` is: same feature hash, else same key (an option: value, then label)."""
    if spec.feature_hash is not None:
        for index, node in enumerate(live_nodes):
            if index not in used and node.get("featureNodeHash") == spec.feature_hash:
                return index
    for index, node in enumerate(live_nodes):
        if index not in used and _key(node, kind) == spec.key:
            return index
    if kind == "option":
        for index, node in enumerate(live_nodes):
            if index not in used and node.get("label") == spec.fields.get("label"):
                return index
    return None


def _key(node: Mapping[str, Any], kind: str) -> str:
    if kind == "classification":
        attributes = node.get("attributes") or [{}]
        return str(attributes[0].get("name", ""))
    if kind == "option":
        return str(node.get("value", node.get("label", "")))
    return str(node.get("name", ""))


def _children_key(kind: str, live: Mapping[str, Any]) -> str | None:
    if kind in ("object", "classification"):
        return "attributes"
    if kind == "attribute":
        return "options" if live.get("type") in ("radio", "checklist") else None
    return "options"  # an option's nested attributes


def _comparable(name: str, value: Any) -> Any:
    """A field as compared: flags default to false, colours ignore case."""
    if name in ("required", "archived", "dynamic"):
        return bool(value)
    if name == "color" and isinstance(value, str):
        return value.upper()
    return value


def _last_id(uid: Any) -> int | None:
    if uid is None:
        return None
    last = str(uid).rsplit(".", 1)[-1]
    return int(last) if last.isdigit() else None


def _path(parent: str, kind: str, key: str) -> str:
    here = f"{kind} {key!r}"
    return f"{parent} / {here}" if parent else here


def _all_hashes(node: Any) -> list[str]:
    if isinstance(node, Mapping):
        found = [str(node["featureNodeHash"])] if "featureNodeHash" in node else []
        for value in node.values():
            found.extend(_all_hashes(value))
        return found
    if isinstance(node, list):
        return [h for item in node for h in _all_hashes(item)]
    return []
