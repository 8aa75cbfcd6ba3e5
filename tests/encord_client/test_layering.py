"""`encord_client` is the bottom layer: it imports nothing of the metadata package (no cycle)."""

from __future__ import annotations

import subprocess
import sys


def test_encord_client_does_not_import_the_metadata_package() -> None:
    code = (
        "import sys\n"
        "import dagster_encord.encord_client.client\n"
        "import dagster_encord.encord_client.storage\n"
        "import dagster_encord.encord_client.metadata_schema\n"
        "import dagster_encord.encord_client.jobs\n"
        "import dagster_encord.encord_client.datasets\n"
        "print(sorted(m for m in sys.modules if m.startswith('dagster_encord.')"
        " and not m.startswith(('dagster_encord.encord_client', 'dagster_encord.errors',"
        " 'dagster_encord.versioned'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
