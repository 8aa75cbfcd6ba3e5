"""The bounded fan-out engine and the scheme dispatch table."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from dagster_encord.sources.fanout import fan_out_pages
from dagster_encord.sources.registry import PROVIDERS


def test_fan_out_never_runs_more_than_max_workers_and_loses_nothing() -> None:
    active = 0
    peak = 0
    lock = threading.Lock()

    def list_prefix(prefix: str) -> Iterator[list[str]]:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        try:
            for page in range(3):
                time.sleep(0.01)
                yield [f"{prefix}{page}-{item}" for item in range(2)]
        finally:
            with lock:
                active -= 1

    prefixes = [f"p{index}/" for index in range(12)]
    items = [item for page in fan_out_pages(prefixes, list_prefix, max_workers=3) for item in page]
    assert sorted(items) == sorted(
        f"{p}{page}-{i}" for p in prefixes for page in range(3) for i in range(2)
    )
    assert 1 < peak <= 3


def test_fan_out_raises_a_worker_error_in_the_consumer() -> None:
    def list_prefix(prefix: str) -> Iterator[list[str]]:
        yield [prefix]
        if prefix == "bad/":
            raise RuntimeError("listing bad/ failed")

    with pytest.raises(RuntimeError, match="bad/"):
        list(fan_out_pages(["a/", "bad/", "c/"], list_prefix, max_workers=2))


def test_closing_early_stops_the_workers() -> None:
    produced = 0

    def list_prefix(prefix: str) -> Iterator[list[int]]:
        nonlocal produced
        for page in range(10_000):
            produced += 1
            yield [page]

    pages = fan_out_pages(["a/", "b/", "c/"], list_prefix, max_workers=3)
    next(pages)
    pages.close()
    settled = produced
    time.sleep(0.3)
    assert produced == settled  # nobody keeps listing after the consumer left
    assert produced < 100  # bounded by the queue, not by the listing


def test_every_scheme_maps_to_an_importable_provider() -> None:
    import importlib

    for scheme, (module_name, class_name) in PROVIDERS.items():
        assert hasattr(importlib.import_module(module_name), class_name), scheme


def test_opening_a_local_source_imports_no_cloud_sdk(tmp_path: pytest.TempPathFactory) -> None:
    code = (
        "import sys; from dagster_encord.sources import open_source;"
        f"open_source('file://{tmp_path}');"
        "print(sorted(m for m in ('boto3', 'google.cloud.storage', 'azure.storage.blob', 'obstore')"
        " if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
