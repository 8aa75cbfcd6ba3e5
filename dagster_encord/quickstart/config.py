"""The quick-start pipeline's configuration, from the environment `./scripts/demo` sets.

No Dagster here: `dagster-encord demo --headless` writes it to a pipeline.yaml for `run`, and
`definitions.py` (the code location `dagster dev` loads) builds Definitions from it.
"""

import importlib.util
import os
from pathlib import Path
from typing import Any

from dagster_encord.emulator.workflow import DEFAULT_WORKFLOW_TEMPLATE_UUID
from dagster_encord.errors import DagsterEncordError
from dagster_encord.quickstart.sample_media import planner_groups

PIPELINE = "demo"
PROJECT = "demo-labelling"
ONTOLOGY = Path(__file__).with_name("ontology.yaml")

ENV = {
    "domain": "DAGSTER_ENCORD_DEMO_DOMAIN",
    "ssh_key": "DAGSTER_ENCORD_DEMO_SSH_KEY",
    "bucket_url": "DAGSTER_ENCORD_DEMO_BUCKET_URL",
    "s3_endpoint": "DAGSTER_ENCORD_DEMO_S3_ENDPOINT",
    "folder": "DAGSTER_ENCORD_DEMO_FOLDER",
    "integration": "DAGSTER_ENCORD_DEMO_INTEGRATION",
}


def demo_config(*, sensors_running: bool = True) -> dict[str, Any]:
    """The demo pipeline: sample bucket -> emulator folder -> three datasets by rule -> a
    workflow project with a small ontology (car and person boxes, a weather classification) ->
    label exports back into the bucket."""
    missing = [name for name in ENV.values() if not os.environ.get(name)]
    if missing:
        raise DagsterEncordError(
            f"the quick-start definitions need {', '.join(missing)}; start them with "
            "./scripts/demo (it sets these and runs dagster dev)"
        )
    return {
        "name": PIPELINE,
        "encord": {"ssh_private_key_env": ENV["ssh_key"], "domain": os.environ[ENV["domain"]]},
        "source": {
            "url": os.environ[ENV["bucket_url"]],
            "options": {"endpoint_url": os.environ[ENV["s3_endpoint"]]},
        },
        "registration": {
            "folder": os.environ[ENV["folder"]],
            "integration": os.environ[ENV["integration"]],
            "planner": {"groups": planner_groups()},
            "poll_budget_seconds": 10.0,
            "run_wait_seconds": 120.0,
        },
        "sensors": {"running": sensors_running, "interval_seconds": 5},
        "datasets": [
            {"title": "demo-images", "include": ["images/**", "sequences/**"]},
            {"title": "demo-video", "include": ["videos/**"]},
            {"title": "demo-dicom", "include": ["dicom/**"]},
        ],
        "project": {
            "title": PROJECT,
            "ontology": str(ONTOLOGY),
            # The emulator's built-in template: Annotate -> Review -> Complete.
            "workflow_template": DEFAULT_WORKFLOW_TEMPLATE_UUID,
            "datasets": ["demo-images", "demo-video"],
        },
        "exports": _exports(os.environ[ENV["bucket_url"]]),
    }


def _exports(bucket_url: str) -> list[dict[str, Any]]:
    """Every labelled row as Encord JSON; the Complete stage as COCO when the extra is here."""
    exports: list[dict[str, Any]] = [
        {
            "name": "labels_json",
            "format": "json",
            "destination": f"{bucket_url}/exports/labels_json/",
            "sensor_interval_seconds": 10,
        }
    ]
    if importlib.util.find_spec("pycocotools") is not None:
        exports.append(
            {
                "name": "coco_complete",
                "format": "coco",
                "destination": f"{bucket_url}/exports/coco_complete/",
                "stage": "Complete",
                "sensor_interval_seconds": 10,
            }
        )
    return exports
