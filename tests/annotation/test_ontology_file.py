"""Ontology files: the short YAML form, Encord's JSON as is, and errors that name the place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from encord.objects import ChecklistAttribute, OntologyStructure, RadioAttribute, Shape

from dagster_encord.annotation.ontology import load_ontology_file, parse_ontology
from dagster_encord.errors import OntologyError

SHORT = """
title: cams
objects:
  - name: car
    shape: bounding_box
    attributes:
      - {name: parts, type: checklist, options: [door, Wheel Arch]}
  - {name: lane, shape: polyline, color: "#00ff00", required: true}
classifications:
  - name: weather
    options: [sunny, {label: rain, attributes: [{name: mm, type: numeric}]}]
  - {name: notes}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_short_yaml_form(tmp_path: Path) -> None:
    spec = load_ontology_file(write(tmp_path, "ontology.yaml", SHORT))
    assert spec.title == "cams"
    car, lane = spec.objects
    assert (car.key, car.fields) == ("car", {"name": "car", "shape": "bounding_box"})
    (parts,) = car.children
    assert [o.fields for o in parts.children] == [
        {"label": "door", "value": "door"},
        {"label": "Wheel Arch", "value": "wheel_arch"},
    ]
    assert lane.fields == {
        "name": "lane",
        "shape": "polyline",
        "required": True,
        "color": "#00FF00",
    }
    weather, notes = spec.classifications
    (question,) = weather.children
    assert question.fields == {"name": "weather", "type": "radio"}  # options make it a radio
    rain = question.children[1]
    assert [a.fields for a in rain.children] == [{"name": "mm", "type": "numeric"}]
    assert notes.children[0].fields == {"name": "notes", "type": "text"}


def test_encord_json_is_accepted_as_is(tmp_path: Path) -> None:
    structure = OntologyStructure()
    car = structure.add_object("car", Shape.BOUNDING_BOX)
    colour = car.add_attribute(RadioAttribute, "colour", required=True)
    colour.add_option("red")
    classification = structure.add_classification()
    classification.add_attribute(ChecklistAttribute, "weather").add_option("sunny")
    exported = structure.to_dict()
    spec = load_ontology_file(write(tmp_path, "ontology.json", json.dumps(exported)))
    (car_spec,) = spec.objects
    assert (car_spec.feature_hash, car_spec.uid) == (car.feature_node_hash, "1")
    assert car_spec.children[0].fields["required"] is True
    assert car_spec.children[0].children[0].feature_hash == colour.options[0].feature_node_hash
    (weather,) = spec.classifications
    assert (weather.key, weather.feature_hash) == ("weather", classification.feature_node_hash)
    assert spec.feature_hashes == {
        car.feature_node_hash,
        colour.feature_node_hash,
        colour.options[0].feature_node_hash,
        classification.feature_node_hash,
        classification.attributes[0].feature_node_hash,
        classification.attributes[0].options[0].feature_node_hash,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "objects: [{name: car, shape: box}]",
            "objects[0].shape: expected one of bounding_box, rotatable_bounding_box",
        ),
        ("objects: [{name: car}]", "objects[0].shape: expected one of"),
        ("objects: [{shape: point}]", "objects[0].name: expected a non-empty string"),
        (
            "objects: [{name: car, shape: point, colour: red}]",
            "objects[0].colour: expected one of the fields archived, attributes, color",
        ),
        (
            "objects: [{name: car, shape: point}, {name: car, shape: polygon}]",
            "objects[1]: expected an object name unique among its siblings ('car' is also "
            "objects[0])",
        ),
        (
            "classifications: [{name: w, type: radio}]",
            "classifications[0].options: expected at least one option for a radio attribute",
        ),
        (
            "classifications: [{name: w, type: text, options: [a]}]",
            "classifications[0].options: expected no options for a text attribute",
        ),
        (
            "objects: [{name: c, shape: point, attributes: [{name: a, type: checklist, "
            "options: [{label: x, attributes: [{name: y}]}]}]}]",
            "objects[0].attributes[0].options[0].attributes: expected no nested attributes",
        ),
        (
            "objects: [{name: c, shape: point, required: 'yes'}]",
            "objects[0].required: expected true or false, got 'yes'",
        ),
        ("objects: {name: car}", "objects: expected a list, got {'name': 'car'}"),
        ("title: cams", "<top level>: expected at least one object or classification"),
        ("- car", "<top level>: expected a mapping with objects and classifications"),
        (
            "classifications: [{attributes: [{name: a}, {name: b}]}]",
            "classifications[0].attributes: expected exactly one attribute (the question)",
        ),
    ],
)
def test_bad_files_name_the_file_the_place_and_what_was_expected(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, "ontology.yaml", text)
    with pytest.raises(OntologyError) as raised:
        load_ontology_file(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert message in str(raised.value)


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(OntologyError, match="the ontology file cannot be read"):
        load_ontology_file(tmp_path / "missing.yaml")
    with pytest.raises(OntologyError, match=r"ontology.json line 2: invalid JSON"):
        load_ontology_file(write(tmp_path, "ontology.json", '{"objects": [\n,]}'))
    with pytest.raises(OntologyError, match=r"ontology.yaml line 3: expected ',' or ']'"):
        load_ontology_file(write(tmp_path, "ontology.yaml", "objects:\n  - [unclosed\n"))


def test_skeleton_templates_are_refused_with_advice() -> None:
    with pytest.raises(OntologyError, match="skeleton_templates: expected no skeleton templates"):
        parse_ontology({"objects": [], "classifications": [], "skeleton_templates": [{"t": 1}]})
