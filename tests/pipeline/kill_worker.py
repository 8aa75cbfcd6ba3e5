"""Subprocess for the SIGKILL test: run one chunk and kill -9 this process at a chosen point.

    python -m tests.pipeline.kill_worker CONFIG_JSON

CONFIG_JSON holds the pipeline's configuration (`pipeline`; the key comes from the environment)
and `kill_at`: "after_post" (the job is POSTed, its id never saved) or "before_post".
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

import dagster as dg

from dagster_encord.dagster.factory import build_encord_ingestion
from dagster_encord.dagster.naming import PipelineNames
from dagster_encord.encord_client.client import EncordClient
from dagster_encord.ledger import Ledger


def _kill(*_args: Any, **_kwargs: Any) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main(config: dict[str, Any]) -> None:
    if config["kill_at"] == "after_post":
        Ledger.mark_submitted = _kill  # type: ignore[method-assign]
    else:
        EncordClient.start_upload_job = _kill  # type: ignore[method-assign]
    defs = build_encord_ingestion(config["pipeline"])
    with dg.DagsterInstance.get() as instance:
        name = config["pipeline"]["name"]
        defs.resolve_job_def(PipelineNames(name).chunk_job).execute_in_process(
            instance=instance,
            partition_key=config["chunk_id"],
            tags={"dagster/run_key": config["chunk_id"]},
        )


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
