"""Bucket sources: one `ObjectRecord` for every cloud, opened by URL scheme."""

from dagster_encord.sources.base import FanOut, ObjectRecord, Source
from dagster_encord.sources.incremental import ListingCursor, list_new_pages
from dagster_encord.sources.registry import open_source

__all__ = ["FanOut", "ListingCursor", "ObjectRecord", "Source", "list_new_pages", "open_source"]
