"""The declared schema: how it is written, its key rules, and its diff against a live schema."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from dagster_encord.errors import SchemaError
from dagster_encord.metadata.schema import (
    DeclaredSchema,
    EmbeddingKey,
    EnumKey,
    ScalarKey,
    diff_schema,
    embedding,
    enum,
    key_problem,
    live_schema_from_wire,
    load_schema,
    scalar,
)

YAML = """
target: index
unknown_keys: reject
keys:
  captured_at: datetime
  team.split: varchar
  score: {type: number}
  weather: {enum: [sunny, rainy]}
  clip: {embedding: 512}
  notes: long_string
"""


def test_yaml_and_python_declarations_are_equal(tmp_path: Path) -> None:
    path = tmp_path / "schema.yaml"
    path.write_text(YAML)
    from_yaml = load_schema(path)
    from_python = DeclaredSchema.of(
        scalar("captured_at", "datetime"),
        scalar("team.split", "varchar"),
        scalar("score", "number"),
        enum("weather", ["sunny", "rainy"]),
        embedding("clip", 512),
        scalar("notes", "text"),
        unknown_keys="reject",
    )
    assert from_yaml.keys == from_python.keys
    assert from_yaml.unknown_keys == "reject"
    assert DeclaredSchema.from_dict(from_yaml.to_dict()).keys == from_yaml.keys


def test_aliases_resolve_and_warn(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        schema = DeclaredSchema.from_dict({"keys": {"a": "string", "b": "long_string"}})
    assert schema.keys["a"] == ScalarKey("a", "varchar")
    assert schema.keys["b"] == ScalarKey("b", "text")
    assert "'string' is a legacy alias of 'varchar'" in caplog.text


@pytest.mark.parametrize(
    ("key", "embedding_key", "fragment"),
    [
        ("", False, "non-empty"),
        ("bad/key", False, "may contain only"),
        ("café", False, "may contain only"),
        ("$mine", False, "reserved"),
        ("keyframes", False, "reserved"),
        ("._-", False, "at least one letter"),
        ("has space", True, "embedding key"),
        ("team.clip", True, "embedding key"),
    ],
)
def test_key_rules_reject(key: str, embedding_key: bool, fragment: str) -> None:
    problem = key_problem(key, embedding_key=embedding_key)
    assert problem is not None and fragment in problem


@pytest.mark.parametrize("key", ["split", "Team.Key", "a b", "x-y_z.1", "UPPER"])
def test_key_rules_accept(key: str) -> None:
    assert key_problem(key) is None


def test_keys_are_case_sensitive_and_warned_about() -> None:
    schema = DeclaredSchema.of(scalar("Split", "varchar"), scalar("split", "varchar"))
    assert set(schema.keys) == {"Split", "split"}
    assert any("differ only by case" in w for w in schema.warnings)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"keys": {"e": {"embedding": 0}}}, "size must be an integer from 1 to 4096"),
        ({"keys": {"e": {"embedding": 4097}}}, "from 1 to 4096"),
        ({"target": "active", "keys": {"e": {"embedding": 2001}}}, "from 1 to 2000"),
        ({"keys": {"w": {"enum": []}}}, "at least one option"),
        ({"keys": {"w": {"enum": ["a", "a"]}}}, "options repeat"),
        ({"keys": {"w": {"enum": [str(i) for i in range(256)]}}}, "at most 255"),
        ({"keys": {"x": "float"}}, "unknown type 'float'"),
        ({"keys": {"x": "enum"}}, "needs options"),
        ({"keys": {"a/b": "varchar"}}, "may contain only"),
        ({"unknown_keys": "ignore"}, "unknown_keys must be"),
        ({"target": "studio"}, "target must be"),
        ({"keys": {"a": "varchar"}, "delete": ["a"]}, "both declared and listed under delete"),
        ({"colour": "blue"}, "unknown setting"),
    ],
)
def test_invalid_declarations_name_the_key_and_the_limit(data: dict, fragment: str) -> None:
    with pytest.raises(SchemaError) as raised:
        DeclaredSchema.from_dict(data, origin="schema.yaml")
    assert fragment in str(raised.value)
    assert "schema.yaml" in str(raised.value)


def test_active_target_accepts_2000() -> None:
    schema = DeclaredSchema.from_dict({"target": "active", "keys": {"e": {"embedding": 2000}}})
    assert schema.keys["e"] == EmbeddingKey("e", 2000)


LIVE_WIRE = {
    "split": {"ty": "variant", "hint": "varchar"},
    "score": {"ty": "variant", "hint": "varchar"},
    "weather": {"ty": "enum", "values": ["rainy"]},
    "clip": {"ty": "embedding", "size": 256, "api": None},
    "legacy": {"ty": "number", "format": "F64"},
    "theirs": {"ty": "variant", "hint": "text"},
    "old": {"ty": "tombstone", "deleted_ty": {"ty": "variant", "hint": "number"}},
    "gone": {"ty": "tombstone", "deleted_ty": None},
}


def test_diff_adds_missing_keys_and_keeps_undeclared_ones() -> None:
    declared = DeclaredSchema.of(scalar("split", "varchar"), scalar("new_key", "uuid"))
    plan = diff_schema(declared, live_schema_from_wire(LIVE_WIRE))
    assert [a.describe() for a in plan.actions] == ["add_scalar('new_key', uuid)"]
    assert plan.unchanged == ("split",)
    assert set(plan.kept_undeclared) == {"score", "weather", "clip", "legacy", "theirs"}
    assert not plan.conflicts


def test_diff_refuses_type_changes_unless_allowed() -> None:
    live = live_schema_from_wire(LIVE_WIRE)
    strict = diff_schema(DeclaredSchema.of(scalar("score", "number")), live)
    assert not strict.actions
    assert "allow_type_changes" in strict.conflicts[0] and "'score'" in strict.conflicts[0]
    opted_in = DeclaredSchema.of(scalar("score", "number"), allow_type_changes=True)
    allowed = diff_schema(opted_in, live)
    assert [a.describe() for a in allowed.actions] == ["set_scalar('score', number)"]


def test_widening_varchar_to_text_needs_no_opt_in() -> None:
    plan = diff_schema(DeclaredSchema.of(scalar("split", "text")), live_schema_from_wire(LIVE_WIRE))
    assert [a.describe() for a in plan.actions] == ["set_scalar('split', text)"]


def test_diff_conflicts_on_kind_size_and_non_variant_changes() -> None:
    live = live_schema_from_wire(LIVE_WIRE)
    declared = DeclaredSchema.of(
        embedding("clip", 512),
        scalar("weather", "varchar"),
        scalar("legacy", "varchar"),
        scalar("gone", "varchar"),
        allow_type_changes=True,
    )
    conflicts = " | ".join(diff_schema(declared, live).conflicts)
    assert "embedding 'clip'" in conflicts and "size cannot change" in conflicts
    assert "key 'weather'" in conflicts and "cannot change kind" in conflicts
    assert "key 'legacy'" in conflicts and "cannot be changed through the SDK" in conflicts
    assert "'gone' was hard-deleted" in conflicts


def test_enum_options_are_added_never_removed() -> None:
    declared = DeclaredSchema.of(EnumKey("weather", ("sunny", "cloudy")))
    plan = diff_schema(declared, live_schema_from_wire(LIVE_WIRE))
    assert [a.describe() for a in plan.actions] == [
        "add_enum_options('weather', ['sunny', 'cloudy'])"
    ]


def test_soft_deleted_key_is_restored_and_deletes_are_soft_by_default() -> None:
    declared = DeclaredSchema.of(scalar("old", "number"), delete=["theirs", "gone", "absent"])
    plan = diff_schema(declared, live_schema_from_wire(LIVE_WIRE))
    assert [a.describe() for a in plan.actions] == [
        "restore_key('old')",
        "delete_key('theirs', hard=False)",
    ]
    hard = DeclaredSchema.of(delete=["theirs"], hard_delete=True)
    assert diff_schema(hard, live_schema_from_wire(LIVE_WIRE)).actions[0].hard


def test_in_sync_schema_is_a_noop() -> None:
    declared = DeclaredSchema.of(scalar("split", "varchar"), EnumKey("weather", ("rainy",)))
    assert diff_schema(declared, live_schema_from_wire(LIVE_WIRE)).is_noop
