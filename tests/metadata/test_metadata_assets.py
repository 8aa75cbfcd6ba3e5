"""The dagster surface: metadata_schema, metadata_upserts (fed by a real ledger) and the
"metadata conforms to schema" check, materialized against the Encord emulator."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
import pytest

from dagster_encord.dagster.metadata_assets import (
    build_metadata_conforms_check,
    build_metadata_schema_asset,
    build_metadata_upserts_asset,
)
from dagster_encord.dagster.resources import EncordResource
from dagster_encord.encord_client.client import EncordClient
from dagster_encord.ledger import ChunkState, FileState, Ledger
from dagster_encord.metadata.item_metadata import read_metadata
from dagster_encord.metadata.ledger_io import (
    METADATA_ERROR_CLASS,
    record_upsert_outcome,
    updates_from_ledger,
)
from dagster_encord.metadata.schema import DeclaredSchema, enum, scalar
from dagster_encord.metadata.sources import FromCallable
from dagster_encord.metadata.upsert import metadata_fingerprint
from dagster_encord.metadata.upsert_execute import SKIPPED_BY_FINGERPRINT, UpsertReport
from dagster_encord.sources.base import ObjectRecord
from tests.metadata.helpers import image_url

if TYPE_CHECKING:
    from dagster_encord.emulator import EncordEmulator

SCHEMA = DeclaredSchema.of(
    scalar("captured_at", "datetime"), enum("weather", ["sunny", "rainy"]), unknown_keys="reject"
)


@pytest.fixture
def resource(encord_emulator: EncordEmulator, encord_ssh_key: str) -> EncordResource:
    return EncordResource(ssh_private_key=encord_ssh_key, domain=encord_emulator.domain)


def _register_through_ledger(
    ledger: Ledger, client: EncordClient, folder: str, integration: str, count: int
) -> None:
    """The pipeline's path: ingest a listing, plan, submit each chunk, record the job result."""
    records = [
        ObjectRecord(
            f"site/{i:06d}.jpg", image_url(i), 100, f"v{i}", datetime(2024, 1, 1, tzinfo=UTC)
        )
        for i in range(count)
    ]
    ledger.ingest([records], "https://cams.s3.eu-west-2.amazonaws.com")
    ledger.plan(metadata_for=lambda r: {"weather": "sunny"})
    for planned in ledger.chunks_in_state(ChunkState.PLANNED):
        chunk = ledger.mark_submitting(planned.chunk_id)
        job_id = client.start_upload_job(folder, integration, chunk.manifest_payload())
        ledger.mark_submitted(chunk.chunk_id, job_id)
        deadline = time.monotonic() + 60
        while (state := client.poll_upload_job(folder, job_id)).status == "PENDING":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        registered = {image_url(int(i.name[-10:-4])): i.item_uuid for i in state.items}
        ledger.record_job_result(chunk.chunk_id, registered=registered)


def test_schema_upserts_and_check_materialize(
    tmp_path: Path,
    resource: EncordResource,
    folder: str,
    encord_integration: str,
    encord_emulator: EncordEmulator,
) -> None:
    client = resource.get_client()
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}", pipeline="cams")
    _register_through_ledger(ledger, client, folder, encord_integration, 4)

    wanted: dict[str, dict[str, Any]] = {
        image_url(0): {"weather": "rainy", "captured_at": "2024-03-12T10:00:00Z"},
        image_url(1): {"weather": "sunny"},  # as registered: the ledger's fingerprint matches
        image_url(2): {"weather": "hail"},  # invalid: rejected before sending
        image_url(3): {"captured_at": "2024-03-13"},
    }
    provider = FromCallable(lambda record: wanted.get(record.object_url))
    reports: list[UpsertReport] = []

    def record(context: dg.AssetExecutionContext, report: UpsertReport) -> None:
        reports.append(report)
        record_upsert_outcome(ledger, report)

    schema_asset = build_metadata_schema_asset(SCHEMA, group_name="cams")
    upserts_asset = build_metadata_upserts_asset(
        SCHEMA,
        collect_updates=lambda context: updates_from_ledger(ledger, provider),
        record_outcome=record,
        deps=[schema_asset],
        group_name="cams",
    )
    check = build_metadata_conforms_check(SCHEMA, asset=upserts_asset, folder=folder)

    result = dg.materialize(
        [schema_asset, upserts_asset], resources={"encord": resource}, selection=None
    )
    assert result.success
    schema_meta = result.asset_materializations_for_node("metadata_schema")[0].metadata
    assert schema_meta["verified"].value is True
    assert schema_meta["actions_applied"].value == 2
    upsert_meta = result.asset_materializations_for_node("metadata_upserts")[0].metadata
    assert upsert_meta["patched"].value == 2
    assert upsert_meta["unchanged"].value == 1
    assert upsert_meta["rejected"].value == 1
    # Only what was read back after the patch counts as verified ...
    assert upsert_meta["verified"].value == 2
    report = reports[0]
    assert set(report.stored) == set(report.sent) == {image_url(0), image_url(3)}
    assert report.stored[image_url(3)] == {"weather": "sunny", "captured_at": "2024-03-13"}
    # ... the file registered with the wanted metadata is skipped on the fingerprint, unread.
    assert upsert_meta["skipped_by_fingerprint"].value == 1
    assert report.skipped == {image_url(1): SKIPPED_BY_FINGERPRINT}
    assert "fingerprint" in report.skipped[image_url(1)]
    assert set(report.errors) == {image_url(2)}

    items = {row.object_url: row for row in ledger.files_in_state(FileState.REGISTERED)}
    stored, _ = read_metadata(client, [row.item_uuid for row in items.values()])
    assert stored[items[image_url(0)].item_uuid] == wanted[image_url(0)]
    assert stored[items[image_url(1)].item_uuid] == wanted[image_url(1)]  # the skip was right
    assert stored[items[image_url(3)].item_uuid] == {
        "weather": "sunny",
        "captured_at": "2024-03-13",
    }
    assert items[image_url(0)].metadata_hash == metadata_fingerprint(wanted[image_url(0)])
    assert items[image_url(2)].error_class == METADATA_ERROR_CLASS
    assert "'hail'" in (items[image_url(2)].error_message or "")
    assert items[image_url(2)].state == FileState.REGISTERED

    # A re-run with nothing changed: every valid file is skipped and Encord is not called.
    encord_emulator.reset_counters()
    again = dg.materialize([upserts_asset], resources={"encord": resource})
    again_meta = again.asset_materializations_for_node("metadata_upserts")[0].metadata
    assert (again_meta["patched"].value, again_meta["verified"].value) == (0, 0)
    assert set(reports[1].skipped) == {image_url(0), image_url(1), image_url(3)}
    assert not any("storage/items" in endpoint for endpoint in encord_emulator.counters())

    checked = dg.materialize(
        [schema_asset, upserts_asset, check],
        resources={"encord": resource},
        selection=dg.AssetSelection.checks_for_assets(upserts_asset),
    )
    evaluation = checked.get_asset_check_evaluations()[0]
    assert evaluation.passed
    assert evaluation.metadata["items_checked"].value == 4


def test_conforms_check_fails_on_nonconforming_items(
    resource: EncordResource, folder: str, encord_integration: str
) -> None:
    client = resource.get_client()
    from tests.metadata.helpers import register_images

    register_images(client, folder, encord_integration, 2, metadata={1: {"weather": "foggy"}})
    asset = dg.AssetSpec("metadata_upserts")
    check = build_metadata_conforms_check(SCHEMA, asset=asset.key, folder=folder)
    result = dg.materialize(
        [asset, check],
        resources={"encord": resource},
        selection=dg.AssetSelection.all_asset_checks(),
    )
    evaluation = result.get_asset_check_evaluations()[0]
    assert not evaluation.passed
    assert evaluation.metadata["items_failing"].value == 1
    assert "'foggy'" in evaluation.metadata["violations"].value


def test_metadata_definitions_read_and_write_the_pipeline_ledger(
    tmp_path: Path, resource: EncordResource, folder: str, encord_integration: str
) -> None:
    from dagster_encord.dagster.metadata_assets import build_metadata_definitions
    from dagster_encord.dagster.resources import LedgerResource

    client = resource.get_client()
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    ledger = Ledger(url, pipeline="cams")
    _register_through_ledger(ledger, client, folder, encord_integration, 2)
    provider = FromCallable(lambda record: {"weather": "rainy"})

    defs = build_metadata_definitions("cams", SCHEMA, folder=folder, provider=provider)
    result = dg.materialize(
        [*defs.assets, *defs.asset_checks],
        resources={"encord": resource, "ledger": LedgerResource(url=url)},
    )
    assert result.success
    upserts = result.asset_materializations_for_node("cams__metadata_upserts")[0]
    assert upserts.asset_key == dg.AssetKey(["cams", "metadata_upserts"])
    assert upserts.metadata["patched"].value == 2
    assert all(e.passed for e in result.get_asset_check_evaluations())
    rows = ledger.files_in_state(FileState.REGISTERED)
    assert {row.metadata_hash for row in rows} == {metadata_fingerprint({"weather": "rainy"})}


def test_metadata_definitions_load_next_to_the_ingestion_factory() -> None:
    from dagster_encord.dagster.factory import build_encord_ingestion
    from dagster_encord.dagster.metadata_assets import build_metadata_definitions

    metadata_defs = build_metadata_definitions(
        "cams",
        SCHEMA,
        folder="cams-folder",
        provider=FromCallable(lambda record: None),
        upstream=[dg.AssetKey(["cams", "registered_files"])],
    )
    defs = build_encord_ingestion(
        {
            "name": "cams",
            "encord": {"bearer_token_env": "UNUSED_TOKEN", "domain": "http://127.0.0.1:9"},
            "ledger": {"url": "sqlite:///:memory:"},
            "source": {"url": "s3://cams"},
            "registration": {"folder": "cams-folder", "integration": "test-s3"},
        },
        extra_definitions=[metadata_defs],
    )
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    upserts = dg.AssetKey(["cams", "metadata_upserts"])
    assert graph.get(upserts).parent_keys == {
        dg.AssetKey(["cams", "metadata_schema"]),
        dg.AssetKey(["cams", "registered_files"]),
    }
