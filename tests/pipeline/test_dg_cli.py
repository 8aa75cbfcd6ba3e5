"""`dg` (dagster-dg-cli, in the dev extra) finds the package's component through its entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# The one place to change when the component is renamed.
COMPONENT_TYPE = "dagster_encord.EncordPipeline"


def test_dg_list_components_shows_the_encord_component(tmp_path: Path) -> None:
    dg = Path(sys.executable).with_name("dg")
    assert dg.exists(), f"{dg} not found: run scripts/bootstrap (dev extra: dagster-dg-cli)"
    # dg ignores DAGSTER_DISABLE_TELEMETRY; it reads $DAGSTER_HOME/dagster.yaml. HOME is a temp
    # folder too, so nothing is written to the real one. No project folder is needed.
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "HOME": str(tmp_path), "DAGSTER_HOME": str(dagster_home)}
    result = subprocess.run(
        [str(dg), "list", "components", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    keys = [item["key"] for item in json.loads(result.stdout)["items"]]
    ours = [key for key in keys if key.startswith("dagster_encord.")]
    assert ours == [COMPONENT_TYPE], keys
