"""Encord's hard registration limits (seed 002) and the checks that enforce them."""

from __future__ import annotations

from dagster_encord.errors import ManifestLimitError

MAX_URLS_PER_MANIFEST = 1_000_000
MAX_ITEMS_PER_MANIFEST = 500_000
MAX_URL_BYTES = 16 * 1024
MAX_CSV_ROWS = 10_000


def url_problem(object_url: str, key: str, *, csv: bool = False) -> str | None:
    """Why this URL cannot go in a manifest, or None when it can."""
    # A UTF-8 character is at most 4 bytes, so short URLs need no encoding to be checked.
    size = len(object_url) if len(object_url) * 4 <= MAX_URL_BYTES else len(object_url.encode())
    if size > MAX_URL_BYTES:
        return (
            f"object URL for {key!r} is {size:,} bytes, over Encord's limit of "
            f"{MAX_URL_BYTES:,} bytes (16 KB) per URL; shorten the key (rename or move the object)"
        )
    if csv and any(char.isspace() for char in object_url):
        return (
            f"object URL for {key!r} contains whitespace, which Encord's CSV format does not "
            "allow; use format: json, or rename the object"
        )
    return None


def check_manifest_size(url_count: int, item_count: int, *, csv: bool = False) -> None:
    """Raise `ManifestLimitError` when a manifest would be over a hard limit."""
    if url_count > MAX_URLS_PER_MANIFEST:
        raise ManifestLimitError(
            f"manifest has {url_count:,} URLs, over Encord's limit of {MAX_URLS_PER_MANIFEST:,}; "
            "lower the planner budget"
        )
    if item_count > MAX_ITEMS_PER_MANIFEST:
        raise ManifestLimitError(
            f"manifest has {item_count:,} items, over Encord's limit of "
            f"{MAX_ITEMS_PER_MANIFEST:,}; lower the planner budget"
        )
    if csv and url_count > MAX_CSV_ROWS:
        raise ManifestLimitError(
            f"CSV manifest has {url_count:,} rows, over Encord's limit of {MAX_CSV_ROWS:,}; "
            "lower the planner budget or use format: json"
        )
