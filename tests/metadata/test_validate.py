"""Validation of clientMetadata before submission: the bad-input matrix and per-file isolation."""

from __future__ import annotations

from typing import Any

import pytest

from dagster_encord.errors import MetadataValidationError
from dagster_encord.metadata.schema import DeclaredSchema, embedding, enum, scalar
from dagster_encord.metadata.validate import (
    MAX_METADATA_BYTES,
    MetadataValidator,
    validate_many,
)

SCHEMA = DeclaredSchema.of(
    scalar("captured_at", "datetime"),
    scalar("camera_id", "uuid"),
    scalar("score", "number"),
    scalar("reviewed", "boolean"),
    scalar("team.split", "varchar"),
    scalar("transcript", "text"),
    enum("weather", ["sunny", "rainy"]),
    embedding("clip", 4),
    unknown_keys="reject",
)
VALIDATOR = MetadataValidator(SCHEMA)
FILE = "s3://bucket/site/000123.jpg"
GOOD: dict[str, Any] = {
    "captured_at": "2024-03-12T10:00:00Z",
    "camera_id": "6f1c2b1e-8a4b-4c1d-9e2f-0a1b2c3d4e5f",
    "score": 0.5,
    "reviewed": False,
    "team.split": "train",
    "transcript": "hello " * 2000,
    "weather": "sunny",
    "clip": [0.1, 2, -3.5, 0.0],
    "keyframes": [0, 10, 20],
    "$encord": {
        "config": {"sampling_rate": 0, "keyframe_mode": "seconds"},
        "frames": {"1.5": {"clip": [1.0, 1.0, 1.0, 1.0], "score": 3}},
    },
}

# (case id, metadata, key named in the error, fragment of "expected", fragment of "found")
BAD_INPUTS: list[tuple[str, Any, str, str, str]] = [
    ("datetime not iso", {"captured_at": "12/03/24"}, "captured_at", "ISO 8601", "'12/03/24'"),
    ("datetime number", {"captured_at": 1710237600}, "captured_at", "ISO 8601", "1710237600"),
    ("datetime empty", {"captured_at": ""}, "captured_at", "ISO 8601", "''"),
    ("uuid garbage", {"camera_id": "cam-7"}, "camera_id", "UUIDv4", "'cam-7'"),
    (
        "uuid version 1",
        {"camera_id": "6f1c2b1e-8a4b-1c1d-9e2f-0a1b2c3d4e5f"},
        "camera_id",
        "UUIDv4",
        "1c1d",
    ),
    ("number nan", {"score": float("nan")}, "score", "finite number", "nan"),
    ("number inf", {"score": float("inf")}, "score", "finite number", "inf"),
    ("number as string", {"score": "0.5"}, "score", "finite number", "'0.5'"),
    ("number bool", {"score": True}, "score", "finite number", "True"),
    ("boolean string", {"reviewed": "true"}, "reviewed", "boolean", "'true'"),
    ("boolean int", {"reviewed": 1}, "reviewed", "boolean", "1"),
    ("varchar too long", {"team.split": "x" * 8193}, "team.split", "8192", "8193 characters"),
    ("varchar number", {"team.split": 3}, "team.split", "varchar", "3"),
    ("text list", {"transcript": ["a"]}, "transcript", "text", "a list of 1 values"),
    ("enum not member", {"weather": "foggy"}, "weather", "['rainy', 'sunny']", "'foggy'"),
    ("enum wrong case", {"weather": "Sunny"}, "weather", "one of", "'Sunny'"),
    ("embedding short", {"clip": [1.0, 2.0]}, "clip", "4 finite numbers", "a list of 2 values"),
    ("embedding long", {"clip": [1.0] * 5}, "clip", "4 finite numbers", "a list of 5 values"),
    ("embedding nan", {"clip": [1.0, float("nan"), 0, 0]}, "clip", "finite", "nan"),
    ("embedding string elt", {"clip": [1.0, "2", 0, 0]}, "clip", "finite", "non-number"),
    ("embedding not list", {"clip": "1,2,3,4"}, "clip", "embedding", "'1,2,3,4'"),
    ("unknown key rejected", {"colour": "red"}, "colour", "declared in the metadata schema", "red"),
    ("dollar key", {"$mine": 1}, "$mine", "reserved", "1"),
    ("keyframes negative", {"keyframes": [1, -2]}, "keyframes", "non-negative integer", "list"),
    ("keyframes not list", {"keyframes": "1,2"}, "keyframes", "non-negative integer", "'1,2'"),
    ("encord not object", {"$encord": [1]}, "$encord", "config and frames", "list"),
    ("encord extra key", {"$encord": {"rate": 1}}, "$encord", "only the keys", "rate"),
    (
        "sampling rate negative",
        {"$encord": {"config": {"sampling_rate": -1}}},
        "$encord.config.sampling_rate",
        ">= 0",
        "-1",
    ),
    (
        "sampling rate string",
        {"$encord": {"config": {"sampling_rate": "fast"}}},
        "$encord.config.sampling_rate",
        ">= 0",
        "'fast'",
    ),
    (
        "keyframe mode",
        {"$encord": {"config": {"keyframe_mode": "frames"}}},
        "$encord.config.keyframe_mode",
        "'frame' or 'seconds'",
        "'frames'",
    ),
    (
        "frame key not integer",
        {"$encord": {"frames": {"1.5": {"score": 1}}}},
        "$encord.frames.1.5",
        "integer frame number",
        "'1.5'",
    ),
    (
        "frame seconds negative",
        {"$encord": {"config": {"keyframe_mode": "seconds"}, "frames": {"-1": {}}}},
        "$encord.frames.-1",
        "seconds",
        "'-1'",
    ),
    (
        "frame embedding wrong size",
        {"$encord": {"frames": {"3": {"clip": [1.0]}}}},
        "$encord.frames.3.clip",
        "4 finite numbers",
        "a list of 1 values",
    ),
    (
        "frames list negative",
        {"$encord": {"frames": [0, -1]}},
        "$encord.frames",
        "non-negative integer",
        "list",
    ),
    ("root not object", ["a"], "<root>", "object", "list"),
]


@pytest.mark.parametrize(
    ("metadata", "key", "expected", "found"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input_is_reported_with_file_key_expected_and_found(
    metadata: Any, key: str, expected: str, found: str
) -> None:
    errors = VALIDATOR.errors(metadata, file=FILE)
    assert len(errors) == 1, errors
    error = errors[0]
    assert (error.file, error.key) == (FILE, key)
    assert expected in error.expected
    assert found in error.found
    message = str(error)
    assert FILE in message and repr(key) in message


def test_bad_input_matrix_has_at_least_25_cases() -> None:
    assert len({case[0] for case in BAD_INPUTS}) >= 25


def test_good_metadata_passes() -> None:
    assert VALIDATOR.validate(GOOD, file=FILE) == []
    VALIDATOR.check(GOOD, file=FILE)


def test_check_raises_with_every_error() -> None:
    with pytest.raises(MetadataValidationError) as raised:
        VALIDATOR.check({"score": "x", "weather": "hail"}, file=FILE)
    assert "'score'" in str(raised.value) and "'weather'" in str(raised.value)


def test_unknown_key_policies() -> None:
    metadata = {"colour": "red"}
    assert MetadataValidator(SCHEMA, unknown_keys="allow").validate(metadata, file=FILE) == []
    warned = MetadataValidator(SCHEMA, unknown_keys="warn").validate(metadata, file=FILE)
    assert [v.severity for v in warned] == ["warning"]
    assert MetadataValidator(SCHEMA, unknown_keys="warn").errors(metadata, file=FILE) == []
    assert [v.key for v in VALIDATOR.errors(metadata, file=FILE)] == ["colour"]


def test_metadata_over_10_mb_is_rejected_with_the_limit() -> None:
    big = {"transcript": "x" * (MAX_METADATA_BYTES + 1)}
    errors = VALIDATOR.errors(big, file=FILE)
    assert [e.key for e in errors] == ["<root>"]
    assert "10,485,760 bytes" in errors[0].expected
    assert errors[0].found.endswith("bytes")
    just_under = {"transcript": "x" * (MAX_METADATA_BYTES - 100)}
    assert VALIDATOR.errors(just_under, file=FILE) == []


def test_nan_inside_an_allowed_unknown_key_is_not_json() -> None:
    validator = MetadataValidator(SCHEMA, unknown_keys="allow")
    big_nan = {"blob": [float("nan")] + [1.0] * 50_000}
    errors = validator.errors(big_nan, file=FILE)
    assert errors and "JSON" in errors[0].expected


def test_one_bad_file_never_stops_the_others() -> None:
    items = [
        ("s3://b/1.jpg", {"score": 1}),
        ("s3://b/2.jpg", {"score": "high", "weather": "hail"}),
        ("s3://b/3.jpg", None),
        ("s3://b/4.jpg", {"weather": "rainy"}),
    ]
    report = validate_many(VALIDATOR, items)
    assert report.checked == 4
    assert report.valid_files == ("s3://b/1.jpg", "s3://b/3.jpg", "s3://b/4.jpg")
    assert report.failed_files == ("s3://b/2.jpg",)
    assert {e.key for e in report.errors} == {"score", "weather"}
