"""Quick-start definitions for `dagster dev` (loaded by workspace.yaml).

`./scripts/demo` starts the Encord emulator and a sample bucket and sets the environment that
`quickstart/config.py` reads; the SSH key arrives through `EnvVar`, never through this file.
"""

import dagster as dg

from dagster_encord.dagster.factory import build_encord_ingestion
from dagster_encord.quickstart.config import demo_config


def demo_definitions(*, sensors_running: bool = True) -> dg.Definitions:
    """The demo pipeline's definitions, sensors on."""
    return build_encord_ingestion(demo_config(sensors_running=sensors_running))


@dg.definitions
def defs() -> dg.Definitions:
    """Built when Dagster loads the code location, so a bare import never needs the demo env."""
    return demo_definitions()
