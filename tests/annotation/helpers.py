"""Shared by the project tests: datasets made with the SDK, and the emulator's write counters."""

from __future__ import annotations

from encord import EncordUserClient
from encord.orm.dataset import StorageLocation

from tests.emulator.test_storage import register_images


def dataset_with_images(
    user: EncordUserClient, integration: str, title: str, count: int
) -> tuple[str, list[str]]:
    """A dataset titled `title` with `count` images registered and linked; (hash, data hashes)."""
    folder = user.create_storage_folder(f"folder-{title}")
    result = register_images(user, folder, integration, count, prefix=title)
    created = user.create_dataset(title, StorageLocation.AWS, create_backing_folder=False)
    rows = user.get_dataset(created.dataset_hash).link_items(
        [item.item_uuid for item in result.items_with_names]
    )
    return created.dataset_hash, sorted(row.uid for row in rows)


def writes(counters: dict[str, int]) -> dict[str, int]:
    """The emulator's request counters for everything but reads (v2 GETs, legacy `.GET`s)."""
    return {
        endpoint: count
        for endpoint, count in counters.items()
        if not (endpoint.startswith("GET ") or endpoint.endswith(".GET"))
    }
