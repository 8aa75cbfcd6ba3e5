"""Ontology as code: an ontology structure file (YAML or JSON) read into `OntologySpec`.

Two forms, mixed freely. Encord's own JSON (`OntologyStructure.to_dict()`, the web app's export)
is accepted as is: its ids and feature hashes are kept, so features keep their identity. The
short form leaves those out and writes a classification as its question:

```yaml
title: cams                       # optional: the ontology's title (default: the project's)
objects:
  - {name: car, shape: bounding_box, attributes: [{name: parts, type: checklist, options: [door]}]}
  - {name: lane, shape: polyline, color: "#00FF00"}
classifications:
  - {name: weather, type: radio, options: [sunny, {label: rain, attributes: [{name: mm}]}]}
```

A bad file raises `OntologyError` naming the file, the path inside it and what was expected.
Merging a spec into a live ontology is `ontology_merge.py`; no Encord calls here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn

from dagster_encord.errors import OntologyError

Kind = Literal["object", "classification", "attribute", "option"]

SHAPES: tuple[str, ...] = (
    "bounding_box",
    "rotatable_bounding_box",
    "polygon",
    "polyline",
    "point",
    "bitmask",
    "segmentation",
    "circle",
    "ellipse",
    "cuboid",
    "cuboid_2d",
    "audio",
    "text",
    "time_range",
)  # skeleton needs a skeleton template, which files do not declare
ATTRIBUTE_TYPES: tuple[str, ...] = ("radio", "checklist", "text", "numeric")
WITH_OPTIONS = ("radio", "checklist")

_COMMON = {"id", "featureNodeHash", "archived"}
_OBJECT_KEYS = _COMMON | {"name", "shape", "color", "required", "attributes"}
_ATTRIBUTE_KEYS = _COMMON | {"name", "type", "required", "dynamic", "options"}
_OPTION_KEYS = _COMMON | {"label", "value", "options", "attributes"}
_ENCORD_CLASSIFICATION_KEYS = _COMMON | {"attributes", "level"}
_TOP_KEYS = {"title", "description", "objects", "classifications", "skeleton_templates"}


@dataclass(frozen=True)
class FeatureSpec:
    """One feature as the file declares it.

    `key` is what it is matched by when it has no feature hash: an object's or attribute's name,
    a classification's question (its attribute's name), an option's value. `fields` holds only
    what the file sets (shape, type, color, required, ...), so unset fields never overwrite live
    ones. `children`: an object's or classification's attributes, an attribute's options, a
    radio option's nested attributes.
    """

    kind: Kind
    key: str
    where: str  # the path inside the file, e.g. objects[1].attributes[0]
    fields: Mapping[str, Any]
    feature_hash: str | None = None
    uid: str | None = None
    children: tuple[FeatureSpec, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.kind} {self.fields.get('label', self.key)!r}"


@dataclass(frozen=True)
class OntologySpec:
    """An ontology file: its features, and the title and description it gives (if any)."""

    origin: str
    objects: tuple[FeatureSpec, ...]
    classifications: tuple[FeatureSpec, ...]
    title: str | None = None
    description: str | None = None
    feature_hashes: frozenset[str] = field(default_factory=frozenset)


def load_ontology_file(path: str | Path) -> OntologySpec:
    """Read and check an ontology file (`.json`, or YAML for any other suffix)."""
    path = Path(path)
    origin = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise OntologyError(
            f"{origin}: the ontology file cannot be read ({error.strerror or error})"
        ) from None
    return parse_ontology(_parse_text(text, origin, path.suffix.lower() == ".json"), origin)


def _parse_text(text: str, origin: str, is_json: bool) -> Any:
    if is_json:
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            message = f"{origin} line {error.lineno}: invalid JSON ({error.msg})"
            raise OntologyError(message) from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise OntologyError(
            f"{origin}{where}: {getattr(error, 'problem', None) or 'invalid YAML'}"
        ) from None


def parse_ontology(document: Any, origin: str = "ontology") -> OntologySpec:
    """An `OntologySpec` from parsed YAML/JSON (`origin` names it in errors)."""
    parser = _Parser(origin)
    top = parser.mapping(document, "", _TOP_KEYS, "a mapping with objects and classifications")
    if top.get("skeleton_templates"):
        parser.fail(
            "skeleton_templates",
            "no skeleton templates (skeleton objects are not supported in ontology files; "
            "create them in Encord and leave them out of the file, they are kept)",
        )
    objects = parser.features(top.get("objects", []), "objects", parser.object)
    classifications = parser.features(
        top.get("classifications", []), "classifications", parser.classification
    )
    if not objects and not classifications:
        parser.fail("", "at least one object or classification")
    return OntologySpec(
        origin=origin,
        objects=objects,
        classifications=classifications,
        title=parser.top_text(top, "title"),
        description=parser.top_text(top, "description"),
        feature_hashes=frozenset(parser.hashes),
    )


class _Parser:
    """Checks one document, collecting feature hashes; every failure names `origin` and a path."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.hashes: set[str] = set()

    def fail(self, where: str, expected: str, got: Any = None) -> NoReturn:
        place = f"{self.origin}: {where}" if where else f"{self.origin}: <top level>"
        suffix = f", got {_show(got)}" if got is not None else ""
        raise OntologyError(f"{place}: expected {expected}{suffix}")

    def mapping(
        self, value: Any, where: str, allowed: set[str], expected: str
    ) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.fail(where, expected, value)
        unknown = sorted(str(key) for key in value if key not in allowed)
        if unknown:
            prefix = f"{where}." if where else ""
            self.fail(f"{prefix}{unknown[0]}", f"one of the fields {', '.join(sorted(allowed))}")
        return value

    def features(self, value: Any, where: str, parse: Any, *extra: Any) -> tuple[FeatureSpec, ...]:
        if value is None:
            return ()
        if not isinstance(value, Sequence) or isinstance(value, str):
            self.fail(where, "a list", value)
        specs = tuple(parse(item, f"{where}[{index}]", *extra) for index, item in enumerate(value))
        seen: dict[str, str] = {}
        for spec in specs:
            if spec.key in seen:
                self.fail(
                    spec.where,
                    f"{_article(spec.kind)} {spec.kind} name unique among its siblings "
                    f"({spec.key!r} is also {seen[spec.key]})",
                )
            seen[spec.key] = spec.where
        return specs

    def text(self, node: Mapping[str, Any], name: str, where: str) -> str:
        value = node.get(name)
        if not isinstance(value, str) or not value.strip():
            self.fail(f"{where}.{name}", "a non-empty string", value)
        return str(value)

    def top_text(self, node: Mapping[str, Any], name: str) -> str | None:
        value = node.get(name)
        if value is not None and not isinstance(value, str):
            self.fail(name, "a string", value)
        return value

    def flags(self, node: Mapping[str, Any], where: str, *names: str) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name in names:
            if name in node:
                if not isinstance(node[name], bool):
                    self.fail(f"{where}.{name}", "true or false", node[name])
                found[name] = node[name]
        return found

    def identity(self, node: Mapping[str, Any], where: str) -> tuple[str | None, str | None]:
        feature_hash = node.get("featureNodeHash")
        if feature_hash is not None:
            if not isinstance(feature_hash, str) or not feature_hash:
                self.fail(f"{where}.featureNodeHash", "a non-empty string", feature_hash)
            if feature_hash in self.hashes:
                self.fail(f"{where}.featureNodeHash", "a feature hash used once in the file")
            self.hashes.add(feature_hash)
        uid = node.get("id")
        if uid is not None and not isinstance(uid, str | int):
            self.fail(f"{where}.id", "an id such as 1 or '1.2'", uid)
        return feature_hash, None if uid is None else str(uid)

    # --- features ----------------------------------------------------------------------------

    def object(self, value: Any, where: str) -> FeatureSpec:
        node = self.mapping(value, where, _OBJECT_KEYS, "an object: {name, shape, ...}")
        name = self.text(node, "name", where)
        shape = node.get("shape")
        if shape not in SHAPES:
            self.fail(f"{where}.shape", f"one of {', '.join(SHAPES)}", shape)
        fields: dict[str, Any] = {"name": name, "shape": shape}
        fields.update(self.flags(node, where, "required", "archived"))
        if "color" in node:
            color = node["color"]
            if not isinstance(color, str) or not _is_hex_color(color):
                self.fail(f"{where}.color", "a colour such as '#D33115'", color)
            fields["color"] = color.upper()
        feature_hash, uid = self.identity(node, where)
        attributes = self.features(node.get("attributes"), f"{where}.attributes", self.attribute)
        return FeatureSpec("object", name, where, fields, feature_hash, uid, attributes)

    def classification(self, value: Any, where: str) -> FeatureSpec:
        if isinstance(value, Mapping) and "attributes" in value:  # Encord's form
            node = self.mapping(
                value, where, _ENCORD_CLASSIFICATION_KEYS, "a classification: {attributes, ...}"
            )
            attributes = self.features(node["attributes"], f"{where}.attributes", self.attribute)
            if len(attributes) != 1:
                self.fail(f"{where}.attributes", "exactly one attribute (the question)")
            fields: dict[str, Any] = {}
            if node.get("level") is not None:
                if node["level"] != "global":
                    self.fail(f"{where}.level", "'global'", node["level"])
                fields["level"] = "global"
            feature_hash, uid = self.identity(node, where)
            return FeatureSpec(
                "classification", attributes[0].key, where, fields, feature_hash, uid, attributes
            )
        # The short form: the question itself (an attribute), wrapped in a classification.
        question = self.attribute(value, where, default_type="radio")
        return FeatureSpec("classification", question.key, where, {}, children=(question,))

    def attribute(self, value: Any, where: str, default_type: str = "text") -> FeatureSpec:
        node = self.mapping(value, where, _ATTRIBUTE_KEYS, "an attribute: {name, type, ...}")
        name = self.text(node, "name", where)
        kind = node.get("type", default_type if "options" in node else "text")
        if kind not in ATTRIBUTE_TYPES:
            self.fail(f"{where}.type", f"one of {', '.join(ATTRIBUTE_TYPES)}", kind)
        fields: dict[str, Any] = {"name": name, "type": kind}
        fields.update(self.flags(node, where, "required", "dynamic", "archived"))
        feature_hash, uid = self.identity(node, where)
        options: tuple[FeatureSpec, ...] = ()
        if kind in WITH_OPTIONS:
            options = self.features(
                node.get("options"), f"{where}.options", self.option, kind == "radio"
            )
            if not options:
                self.fail(f"{where}.options", f"at least one option for a {kind} attribute")
        elif node.get("options"):
            self.fail(f"{where}.options", f"no options for a {kind} attribute")
        return FeatureSpec("attribute", name, where, fields, feature_hash, uid, options)

    def option(self, value: Any, where: str, nestable: bool) -> FeatureSpec:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            value = {"label": str(value)}
        node = self.mapping(value, where, _OPTION_KEYS, "an option: a label, or {label, ...}")
        label = self.text(node, "label", where)
        option_value = node.get("value", _value_of(label))
        if not isinstance(option_value, str) or not option_value:
            self.fail(f"{where}.value", "a non-empty string", option_value)
        fields: dict[str, Any] = {"label": label, "value": option_value}
        fields.update(self.flags(node, where, "archived"))
        feature_hash, uid = self.identity(node, where)
        nested_key = "attributes" if "attributes" in node else "options"
        if node.get(nested_key) and not nestable:
            self.fail(f"{where}.{nested_key}", "no nested attributes (only radio options nest)")
        nested = self.features(node.get(nested_key), f"{where}.{nested_key}", self.attribute)
        return FeatureSpec("option", option_value, where, fields, feature_hash, uid, nested)


def _value_of(label: str) -> str:
    """The option value Encord derives from a label (the SDK's `add_option`)."""
    return label.lower().replace(" ", "_")


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _is_hex_color(color: str) -> bool:
    digits = color[1:]
    return (
        color.startswith("#")
        and len(digits) in (3, 6)
        and all(c in "0123456789abcdefABCDEF" for c in digits)
    )


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
