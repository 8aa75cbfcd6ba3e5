"""Metadata sources over a real local folder: sidecars, mapping files, callables, path fields."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dagster_encord.errors import MetadataError
from dagster_encord.metadata.schema import DeclaredSchema, embedding, scalar
from dagster_encord.metadata.sources import (
    FromCallable,
    FromPath,
    MappingFile,
    MetadataSources,
    SidecarJson,
    metadata_for_group,
    sidecar_key,
)
from dagster_encord.sources.base import ObjectRecord, Source
from dagster_encord.sources.registry import open_source

SCHEMA = DeclaredSchema.of(
    scalar("shard", "number"), scalar("reviewed", "boolean"), embedding("clip", 2)
)


def _source(root: Path, files: dict[str, bytes | str]) -> Source:
    for key, content in files.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return open_source(root.as_uri())


def _records(source: Source) -> dict[str, ObjectRecord]:
    return {r.key: r for page in source.list_pages() for r in page}


def test_sidecar_naming_rules() -> None:
    assert sidecar_key("x/a.jpg") == "x/a.jpg.json"
    assert sidecar_key("x/a.jpg", naming="replace") == "x/a.json"
    assert sidecar_key("x/noext", naming="replace") == "x/noext.json"


@pytest.mark.parametrize(("naming", "name"), [("append", "a.jpg.json"), ("replace", "a.json")])
def test_sidecar_json_is_read_next_to_the_object(tmp_path: Path, naming: str, name: str) -> None:
    source = _source(tmp_path, {"a.jpg": b"x", name: json.dumps({"k": 1}), "b.jpg": b"y"})
    records = _records(source)
    sidecar = SidecarJson(source, naming=naming)
    assert sidecar.metadata_for(records["a.jpg"]) == {"k": 1}
    assert sidecar.metadata_for(records["b.jpg"]) is None


def test_sidecar_wrapped_in_client_metadata_and_bad_json(tmp_path: Path) -> None:
    source = _source(
        tmp_path,
        {
            "a.jpg": b"x",
            "a.jpg.json": json.dumps({"clientMetadata": {"k": 2}}),
            "b.jpg": b"y",
            "b.jpg.json": "[1, 2]",
        },
    )
    records = _records(source)
    sidecar = SidecarJson(source, known_keys=frozenset(records))
    assert sidecar.metadata_for(records["a.jpg"]) == {"k": 2}
    with pytest.raises(MetadataError, match=r"b\.jpg\.json .* must hold a JSON object"):
        sidecar.metadata_for(records["b.jpg"])


def test_mapping_files_in_each_format_agree(tmp_path: Path) -> None:
    rows = [
        {"key": "d/a.jpg", "shard": "7", "reviewed": "true", "clip": "[0.5, 1]"},
        {"key": "d/b.jpg", "shard": "8", "reviewed": "false", "clip": "[1, 2]"},
    ]
    csv_text = "key,shard,reviewed,clip\n" + "".join(
        f'{r["key"]},{r["shard"]},{r["reviewed"]},"{r["clip"]}"\n' for r in rows
    )
    jsonl = "".join(
        json.dumps(
            {
                "key": r["key"],
                "shard": int(r["shard"]),
                "reviewed": r["reviewed"] == "true",
                "clip": json.loads(r["clip"]),
            }
        )
        + "\n"
        for r in rows
    )
    source = _source(
        tmp_path, {"d/a.jpg": b"x", "d/b.jpg": b"y", "m.csv": csv_text, "m.jsonl": jsonl}
    )
    pq.write_table(
        pa.Table.from_pylist([json.loads(line) for line in jsonl.splitlines()]),
        tmp_path / "m.parquet",
    )
    records = _records(source)
    expected = {"shard": 7, "reviewed": True, "clip": [0.5, 1]}
    for path in ("m.csv", "m.jsonl", "m.parquet"):
        mapping = MappingFile(source, path, schema=SCHEMA)
        assert mapping.metadata_for(records["d/a.jpg"]) == expected, path


def test_mapping_file_keyed_by_url(tmp_path: Path) -> None:
    source = _source(tmp_path, {"a.jpg": b"x"})
    record = _records(source)["a.jpg"]
    (tmp_path / "m.jsonl").write_text(
        json.dumps({"url": record.object_url, "clientMetadata": {"k": "v"}}) + "\n"
    )
    assert MappingFile(source, "m.jsonl", key_column="url").metadata_for(record) == {"k": "v"}


def test_mapping_file_row_without_key_names_the_row(tmp_path: Path) -> None:
    source = _source(tmp_path, {"a.jpg": b"x", "m.csv": "key,shard\na.jpg,1\n,2\n"})
    with pytest.raises(MetadataError, match=r"m\.csv, row 3: no value in key column 'key'"):
        MappingFile(source, "m.csv").rows()


def test_unknown_mapping_format_is_a_clear_error(tmp_path: Path) -> None:
    source = _source(tmp_path, {"m.xlsx": b"x"})
    with pytest.raises(MetadataError, match=r"\.csv, \.jsonl or \.parquet"):
        MappingFile(source, "m.xlsx").rows()


def test_path_regex_gives_seed_shard_as_a_number(tmp_path: Path) -> None:
    source = _source(tmp_path, {"images/0042/a.jpg": b"x", "images/top.jpg": b"y"})
    records = _records(source)
    from_path = FromPath(r"(?P<shard>\d+)/[^/]+$", SCHEMA)
    assert from_path.metadata_for(records["images/0042/a.jpg"]) == {"shard": 42}
    assert from_path.metadata_for(records["images/top.jpg"]) is None
    with pytest.raises(MetadataError, match="no named groups"):
        FromPath(r"\d+")


def test_sources_merge_in_order_and_isolate_failures(tmp_path: Path) -> None:
    source = _source(
        tmp_path,
        {
            "7/a.jpg": b"x",
            "7/a.jpg.json": json.dumps({"shard": 1, "note": "sidecar"}),
            "7/b.jpg": b"y",
            "7/b.jpg.json": "{broken",
        },
    )
    records = _records(source)
    sources = MetadataSources(
        [
            SidecarJson(source),
            FromPath(r"(?P<shard>\d+)/", SCHEMA),
            FromCallable(lambda r: {"size": r.size}),
        ]
    )
    found, problems = sources.collect([records["7/a.jpg"], records["7/b.jpg"]])
    assert found == {records["7/a.jpg"].object_url: {"shard": 7, "note": "sidecar", "size": 1}}
    assert [p.file for p in problems] == [records["7/b.jpg"].object_url]
    assert "not valid JSON" in problems[0].found


def test_callable_must_return_a_dict(tmp_path: Path) -> None:
    source = _source(tmp_path, {"a.jpg": b"x"})
    bad = FromCallable(lambda r: ["nope"])
    with pytest.raises(MetadataError, match="must return a dict or None"):
        bad.metadata_for(_records(source)["a.jpg"])


def test_group_metadata_from_members(tmp_path: Path) -> None:
    source = _source(tmp_path, {f"seq/{i}.jpg": b"x" for i in range(3)})
    members = sorted(_records(source).values(), key=lambda r: r.key)
    group, frames = metadata_for_group(
        FromCallable(lambda r: {"sequence": "seq", "frame": r.key}), members
    )
    assert group == {"sequence": "seq"}
    assert [f["frame"] for f in frames] == ["seq/0.jpg", "seq/1.jpg", "seq/2.jpg"]
