from __future__ import annotations

from pathlib import Path

import pytest

from dagster_encord.errors import PlanningError
from dagster_encord.planner import PlannerConfig


def test_yaml_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "planner.yaml"
    path.write_text(
        "format: csv\n"
        "quiet_period_minutes: 15\n"
        "budget: {image: 200}\n"
        "packing: stable\n"
        "extensions: {'.raw': image}\n"
        "groups:\n"
        "  - kind: image_sequence\n"
        "    by: regex\n"
        "    pattern: '^cams/(?P<group>[^/]+)/'\n"
        "    explicit_order: [b.jpg, a.jpg]\n"
        "    order: explicit\n"
    )
    config = PlannerConfig.load(path)
    assert config.format == "csv"
    assert config.quiet_period_minutes == 15.0
    assert config.budget_for("image") == 200 and config.budget_for("video") == 100
    assert config.packing == "stable"
    assert PlannerConfig.from_mapping({}).packing == "dense"
    assert config.extensions[".raw"] == "image" and config.extensions[".mp4"] == "video"
    assert [rule.kind for rule in config.groups] == ["image_sequence", "dicom_series"]
    assert config.groups[0].explicit_order == ("b.jpg", "a.jpg")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"formats": "json"}, "unknown key"),
        ({"format": "xml"}, "'format'"),
        ({"packing": "tight"}, "'packing'.*'dense', 'stable'"),
        ({"budget": {"image": 0}}, "whole number"),
        ({"budget": {"photos": 10}}, "'budget'"),
        ({"extensions": {".x": "hologram"}}, "'.x'"),
        ({"quiet_period_minutes": -1}, "0 or more"),
        ({"title_template": "{nope}"}, "title_template"),
        ({"groups": [{"kind": "image_group", "by": "regex"}]}, "needs a pattern"),
        ({"groups": [{"kind": "image_group", "by": "regex", "pattern": "(x"}]}, "not a valid"),
        ({"groups": [{"kind": "image_group", "by": "regex", "pattern": "x"}]}, "'group'"),
        ({"groups": [{"kind": "image_group", "order": "explicit"}]}, "explicit_order"),
        ({"groups": [{"kind": "video_group"}]}, "groups[].kind"),
    ],
)
def test_invalid_config_names_the_key(raw: dict[str, object], message: str) -> None:
    with pytest.raises(PlanningError, match=message.replace("[", r"\[").replace("]", r"\]")):
        PlannerConfig.from_mapping(raw)
