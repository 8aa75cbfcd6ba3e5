"""Objects a metadata provider reads (sidecars, a mapping file) are metadata, not data."""

from __future__ import annotations

from pathlib import Path

from dagster_encord.metadata.sources import (
    FromCallable,
    MappingFile,
    MetadataSources,
    SidecarJson,
    metadata_object_filter,
)
from dagster_encord.sources import open_source


def test_sidecars_and_the_mapping_file_are_metadata_objects(tmp_path: Path) -> None:
    source = open_source(tmp_path.as_uri())
    combined = MetadataSources(
        [SidecarJson(source), MappingFile(source, "meta/labels.csv"), FromCallable(lambda r: None)]
    )
    is_metadata = metadata_object_filter(combined)
    assert is_metadata is not None
    assert is_metadata("cams/a.jpg.json")
    assert is_metadata("meta/labels.csv")
    assert not is_metadata("cams/a.jpg")
    assert not is_metadata("meta/other.csv")


def test_a_provider_without_metadata_objects_filters_nothing() -> None:
    assert metadata_object_filter(FromCallable(lambda record: {"site": "A"})) is None
