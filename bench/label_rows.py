"""Emulator label rows at export scale, through the real SDK (what a label export does).

Set-up (not timed): N image URLs (default 100,000) registered with one upload job and linked to a
dataset; a workflow project on it. A 1,000-row project on its own dataset is the baseline, timed
after the big project holds N label rows, so a handler that scans every label row shows up as a
baseline slower than its per-row share.

Timed, for each project: `list_label_rows_v2()` uninitialised; bundled `initialise_labels` of
1,000 rows (PUT create); `list_label_rows_v2()` again (with and without filters); a bundled
`initialise_labels` of 1,000 initialised rows (GET); a bundled `save` of 1,000 rows (POST).
Each line gives the SDK call's wall time and, in brackets, the time spent in the emulator's
handler (the rest is HTTP and the SDK parsing the answer).

    .venv/bin/python bench/label_rows.py [--rows 100000] [--state]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from encord import EncordUserClient
from encord.orm.dataset import StorageLocation
from encord.orm.label_row import AnnotationTaskStatus
from encord.project import Project

from dagster_encord.emulator import EncordEmulator, app

BUNDLE = 1000
HANDLER_SECONDS: dict[str, float] = defaultdict(float)


def time_handlers() -> None:
    """Wrap the legacy label handlers to add up the time the emulator spends in them."""

    def timed_handler(name: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            started = time.perf_counter()
            try:
                return handler(*args)
            finally:
                HANDLER_SECONDS[name] += time.perf_counter() - started

        return run

    for key, handler in list(app.LEGACY_HANDLERS.items()):
        if key[1].startswith("label"):
            app.LEGACY_HANDLERS[key] = timed_handler(f"{key[1]}.{key[2]}", handler)


def measure(what: str, action: Callable[[], Any]) -> Any:
    HANDLER_SECONDS.clear()
    started = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - started
    server = sum(HANDLER_SECONDS.values())
    print(f"  {what}: {seconds:.3f} s (emulator {server:.3f} s)")
    return result


def dataset_of(client: EncordUserClient, integration: str, name: str, n: int) -> str:
    folder = client.create_storage_folder(name)
    spec = {"images": [{"objectUrl": f"s3://bench/{name}/{i:07d}.jpg"} for i in range(n)]}
    job = folder.add_private_data_to_folder_start(integration, spec)
    result = folder.add_private_data_to_folder_get_result(job)
    uuids = [i.item_uuid for i in result.items_with_names]
    created = client.create_dataset(name, StorageLocation.AWS, create_backing_folder=False)
    dataset = client.get_dataset(created.dataset_hash)
    for start in range(0, n, 10_000):
        dataset.link_items(uuids[start : start + 10_000])
    return created.dataset_hash


def bench_project(project: Project, n: int) -> None:
    rows = measure(f"list {n:,} rows (uninitialised)", project.list_label_rows_v2)
    assert len(rows) == n
    stamp = datetime.now(UTC)

    def initialise(batch: list[Any]) -> None:
        with project.create_bundle(bundle_size=BUNDLE) as bundle:
            for row in batch:
                row.initialise_labels(bundle=bundle)

    measure(f"bundled create of {BUNDLE:,} (PUT)", lambda: initialise(rows[:BUNDLE]))
    if n > BUNDLE:
        measure(
            f"the other {n - BUNDLE:,} rows, {BUNDLE:,} a bundle",
            lambda: [initialise(rows[i : i + BUNDLE]) for i in range(BUNDLE, n, BUNDLE)],
        )
    rows = measure(f"list {n:,} rows (initialised)", project.list_label_rows_v2)
    measure(
        "list, filtered (edited_after + label_statuses + title like)",
        lambda: project.list_label_rows_v2(
            edited_after=stamp,
            label_statuses=[AnnotationTaskStatus.QUEUED],
            data_title_like="%7.jpg",
        ),
    )
    measure(
        f"list, data_hashes filter of {BUNDLE:,}",
        lambda: project.list_label_rows_v2(data_hashes=[r.data_hash for r in rows[:BUNDLE]]),
    )
    measure(f"bundled get of {BUNDLE:,} (GET)", lambda: initialise(rows[:BUNDLE]))

    def save() -> None:
        with project.create_bundle(bundle_size=BUNDLE) as bundle:
            for row in rows[:BUNDLE]:
                row.save(bundle=bundle)

    measure(f"bundled save of {BUNDLE:,} (POST)", save)
    measure(
        f"to_encord_dict of {BUNDLE:,} (SDK only)",
        lambda: [r.to_encord_dict() for r in rows[:BUNDLE]],
    )

    def complete() -> None:
        with project.create_bundle(bundle_size=BUNDLE) as bundle:
            for row in rows[:BUNDLE]:
                row.workflow_complete(bundle=bundle)

    measure(f"bundled workflow_complete of {BUNDLE:,}", complete)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--state", action="store_true", help="with a SQLite state file")
    args = parser.parse_args()
    time_handlers()
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "encord.sqlite" if args.state else None
        with EncordEmulator(state, probe_media=False) as emulator:
            client = EncordUserClient.create_with_ssh_private_key(
                emulator.new_ssh_key(), domain=emulator.domain
            )
            integration = emulator.add_integration("bench", "s3")
            started = time.perf_counter()
            big = dataset_of(client, integration, "big", args.rows)
            small = dataset_of(client, integration, "small", BUNDLE)
            linked = time.perf_counter() - started
            print(f"set-up: {args.rows + BUNDLE:,} items linked in {linked:.1f} s")
            template = emulator.DEFAULT_WORKFLOW_TEMPLATE_UUID
            for title, dataset_hash, n in (("big", big, args.rows), ("baseline", small, BUNDLE)):
                project = client.get_project(
                    client.create_project(title, [dataset_hash], workflow_template_hash=template)
                )
                print(f"{title} project, {n:,} rows:")
                bench_project(project, n)


if __name__ == "__main__":
    main()
