"""`import dagster_encord` is cheap; its public names resolve on first use."""

from __future__ import annotations

import subprocess
import sys

import dagster_encord


def test_import_loads_neither_dagster_nor_the_sdk() -> None:
    code = (
        "import sys, dagster_encord; "
        "print(sorted(m for m in ('dagster', 'encord') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_public_name_resolves() -> None:
    for name in dagster_encord.__all__:
        assert getattr(dagster_encord, name).__name__ == name
