"""The new-objects sensor reports its incremental listing on the `bucket_listing` asset."""

from __future__ import annotations

import dagster as dg

from dagster_encord.quickstart.sample_media import png
from tests.pipeline.harness import Harness


def test_sensor_materializes_bucket_listing_only_when_it_found_new_objects(
    harness: Harness,
) -> None:
    harness.put({f"cams/{i}.png": png(2, 2, (i, 0, 0)) for i in range(3)})
    defs = harness.defs()
    listing_key = dg.AssetKey([harness.name, "bucket_listing"])

    first = harness.evaluate(defs, "new_objects")
    events = list(first.asset_events or ())
    assert [event.asset_key for event in events] == [listing_key]
    metadata = events[0].metadata
    assert metadata["new_files"] == dg.IntMetadataValue(3)
    assert metadata["files_planned"] == dg.IntMetadataValue(3)
    assert metadata["incremental"] == dg.BoolMetadataValue(True)

    # Nothing new in the bucket: no materialization, so the asset's history shows real changes.
    again = harness.evaluate(defs, "new_objects")
    assert not again.asset_events

    harness.put({"cams/late.png": png(2, 2, (9, 9, 9))})
    late = list(harness.evaluate(defs, "new_objects").asset_events or ())
    assert len(late) == 1 and late[0].metadata["new_files"] == dg.IntMetadataValue(1)
