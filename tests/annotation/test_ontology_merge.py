"""Merging an ontology file into the live structure: additive, identity kept, removals opt-in."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from encord.objects import OntologyStructure

from dagster_encord.annotation.ontology import OntologySpec, parse_ontology
from dagster_encord.annotation.ontology_merge import EMPTY_STRUCTURE, plan_ontology
from dagster_encord.errors import OntologyError


def spec_of(text: str) -> OntologySpec:
    return parse_ontology(yaml.safe_load(text), "ontology.yaml")


def obj(uid: str, name: str, shape: str, feature_hash: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": uid,
        "name": name,
        "color": "#D33115",
        "shape": shape,
        "featureNodeHash": feature_hash,
        "required": False,
        "archived": False,
        **extra,
    }


def option(uid: str, label: str, feature_hash: str) -> dict[str, Any]:
    value = label.lower()
    return {
        "id": uid,
        "label": label,
        "value": value,
        "featureNodeHash": feature_hash,
        "archived": False,
    }


PARTS = {
    "id": "1.1",
    "name": "parts",
    "type": "checklist",
    "featureNodeHash": "partspar",
    "required": False,
    "archived": False,
    "dynamic": False,
    "options": [option("1.1.1", "door", "doordoor"), option("1.1.2", "wheel", "wheelwhe")],
}
LIVE = {
    "objects": [obj("1", "car", "bounding_box", "carcarca", attributes=[PARTS])],
    "classifications": [],
    "skeleton_templates": [],
}
CAR_FILE = """
objects:
  - name: car
    shape: bounding_box
    attributes: [{name: parts, type: checklist, options: [door, wheel]}]
"""


def sdk_form(structure: dict[str, Any]) -> dict[str, Any]:
    return OntologyStructure.from_dict(structure).to_dict()


def test_a_new_ontology_is_written_as_the_sdk_writes_it() -> None:
    spec = spec_of(
        CAR_FILE
        + """
  - {name: lane, shape: polyline}
classifications:
  - {name: weather, options: [sunny, {label: rain, attributes: [{name: mm, type: numeric}]}]}
"""
    )
    plan = plan_ontology(EMPTY_STRUCTURE, spec)
    assert plan.added == ["object 'car'", "object 'lane'", "classification 'weather'"]
    assert plan.needs_save
    assert sdk_form(plan.structure) == plan.structure
    car, lane = plan.structure["objects"]
    assert (car["id"], lane["id"], lane["color"]) == ("1", "2", "#E27300")
    assert [o["id"] for o in car["attributes"][0]["options"]] == ["1.1.1", "1.1.2"]
    (weather,) = plan.structure["classifications"]
    rain = weather["attributes"][0]["options"][1]
    assert (rain["value"], rain["options"][0]["id"], rain["options"][0]["type"]) == (
        "rain",
        "1.1.2.1",
        "numeric",
    )
    assert plan_ontology(sdk_form(plan.structure), spec).needs_save is False


def test_the_same_file_changes_nothing() -> None:
    plan = plan_ontology(LIVE, spec_of(CAR_FILE))
    assert (plan.needs_save, plan.added, plan.changed, plan.kept) == (False, [], [], [])
    assert plan.structure == LIVE


def test_features_are_added_next_to_the_live_ones_which_keep_their_identity() -> None:
    spec = spec_of(
        """
objects:
  - name: car
    shape: bounding_box
    attributes: [{name: parts, type: checklist, options: [door, wheel, hood]}]
  - {name: bus, shape: polygon}
"""
    )
    plan = plan_ontology(LIVE, spec)
    assert plan.added == ["object 'car' / attribute 'parts' / option 'hood'", "object 'bus'"]
    car, bus = plan.structure["objects"]
    assert car["featureNodeHash"] == "carcarca"
    options = car["attributes"][0]["options"]
    assert [(o["id"], o["featureNodeHash"]) for o in options[:2]] == [
        ("1.1.1", "doordoor"),
        ("1.1.2", "wheelwhe"),
    ]
    assert options[2]["id"] == "1.1.3" and options[2]["featureNodeHash"] not in {
        "doordoor",
        "wheelwhe",
    }
    assert (bus["id"], bus["shape"]) == ("2", "polygon")
    assert sdk_form(plan.structure) == plan.structure


def test_a_feature_missing_from_the_file_is_kept_unless_removals_are_allowed() -> None:
    live = {**LIVE, "objects": [*LIVE["objects"], obj("2", "truck", "polygon", "trucktru")]}
    kept = plan_ontology(live, spec_of(CAR_FILE))
    assert (kept.needs_save, kept.kept, kept.removed) == (False, ["object 'truck'"], [])
    assert [o["name"] for o in kept.structure["objects"]] == ["car", "truck"]

    removed = plan_ontology(live, spec_of(CAR_FILE), allow_removals=True)
    assert (removed.needs_save, removed.removed, removed.kept) == (True, ["object 'truck'"], [])
    assert [o["name"] for o in removed.structure["objects"]] == ["car"]


def test_a_missing_option_is_kept_and_reported_with_its_path() -> None:
    spec = spec_of(
        "objects: [{name: car, shape: bounding_box, attributes: "
        "[{name: parts, type: checklist, options: [door]}]}]"
    )
    plan = plan_ontology(LIVE, spec)
    assert plan.kept == ["object 'car' / attribute 'parts' / option 'wheel'"]
    assert plan.structure == LIVE


def test_a_shape_or_type_change_is_refused_naming_the_place() -> None:
    with pytest.raises(OntologyError) as raised:
        plan_ontology(LIVE, spec_of("objects: [{name: car, shape: polygon}]"))
    assert str(raised.value) == (
        "ontology.yaml: objects[0]: object 'car' is a bounding_box in Encord's ontology, the "
        "file says polygon; a feature's shape cannot change (labels use it): give the new one "
        "another name"
    )
    with pytest.raises(OntologyError, match=r"objects\[0\].attributes\[0\]: .* is a checklist"):
        plan_ontology(
            LIVE,
            spec_of(
                "objects: [{name: car, shape: bounding_box, "
                "attributes: [{name: parts, type: radio, options: [door]}]}]"
            ),
        )


def test_explicit_settings_update_a_live_feature() -> None:
    spec = spec_of('objects: [{name: car, shape: bounding_box, color: "#00ff00", required: true}]')
    plan = plan_ontology(LIVE, spec)
    assert plan.changed == ["object 'car' (color, required)"]
    (car,) = plan.structure["objects"]
    assert (car["color"], car["required"], car["featureNodeHash"]) == ("#00FF00", True, "carcarca")
    assert car["attributes"] == [PARTS]  # not in the file: kept


def test_a_feature_hash_matches_a_renamed_feature() -> None:
    spec = parse_ontology(
        {"objects": [obj("1", "automobile", "bounding_box", "carcarca")], "classifications": []}
    )
    plan = plan_ontology(LIVE, spec)
    assert plan.changed == ["object 'automobile' (name)"]
    assert plan.added == [] and plan.kept == ["object 'automobile' / attribute 'parts'"]


def test_an_exported_json_recreates_the_same_ids_and_hashes() -> None:
    exported = sdk_form(LIVE)
    plan = plan_ontology(EMPTY_STRUCTURE, parse_ontology(exported))
    assert plan.structure == exported


def test_a_file_hash_owned_by_another_live_feature_is_not_reused() -> None:
    # The file's bus carries the live car's hash (copied by hand): bus is new, with a fresh hash.
    spec = parse_ontology(
        {
            "objects": [
                obj("1", "car", "bounding_box", "other000"),
                obj("2", "bus", "polygon", "carcarca"),
            ],
            "classifications": [],
        }
    )
    plan = plan_ontology(LIVE, spec)
    car, bus = plan.structure["objects"]
    assert car["featureNodeHash"] == "carcarca"  # matched by name after its hash failed
    assert bus["featureNodeHash"] not in {"carcarca", "other000"}
