"""`make_reader(url, **options)`: a PubSubEventReader closed after the test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dagster_encord.events.pubsub import PubSubEventReader
from tests.events.reading import MakeReader


@pytest.fixture()
def make_reader() -> Iterator[MakeReader]:
    readers: list[PubSubEventReader] = []

    def make(url: str, **options: Any) -> PubSubEventReader:
        reader = PubSubEventReader(url, **options)
        readers.append(reader)
        return reader

    yield make
    for reader in readers:
        reader.close()
