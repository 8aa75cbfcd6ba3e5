"""Subprocess for the pool-limit test: run one chunk's run on the instance in `$DAGSTER_HOME`.

    python -m tests.pipeline.pool_worker CONFIG_JSON

CONFIG_JSON holds the pipeline's configuration (`pipeline`) and `chunk_id` (the key comes from
the environment). Each run gets its own process because Dagster's in-process execution is not safe
to run from several threads of one process (they deadlock on Python's logging locks).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import dagster as dg

from dagster_encord.dagster.factory import build_encord_ingestion
from dagster_encord.dagster.naming import PipelineNames


def main(config: dict[str, Any]) -> int:
    defs = build_encord_ingestion(config["pipeline"])
    name = config["pipeline"]["name"]
    with dg.DagsterInstance.get() as instance:
        result = defs.resolve_job_def(PipelineNames(name).chunk_job).execute_in_process(
            instance=instance, partition_key=config["chunk_id"], raise_on_error=False
        )
    print(result.run_id)
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(json.loads(sys.argv[1])))
