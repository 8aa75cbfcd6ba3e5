"""Production code location: one bucket -> Encord folder pipeline, configured by environment.

Credentials come through `dg.EnvVar`, so they are read at run time and never stored in run config.

    ENCORD_SSH_KEY            private ed25519 key (or ENCORD_BEARER_TOKEN)
    ENCORD_DOMAIN             default https://api.encord.com
    ENCORD_SOURCE_URL         s3://bucket/prefix, gs://..., az://account/container/..., file:///...
    ENCORD_SOURCE_ENDPOINT_URL endpoint override (MinIO, OTC); ENCORD_SOURCE_REGION the region
    ENCORD_FOLDER             folder uuid or title
    ENCORD_INTEGRATION        cloud integration uuid or title
    ENCORD_LEDGER_URL         postgresql+psycopg2://user@host/db (default: SQLite, DAGSTER_HOME)
    ENCORD_EXECUTOR           in_process (default) | multiprocess | celery | k8s
"""

import os

import dagster as dg

from dagster_encord.dagster.factory import build_encord_ingestion
from dagster_encord.encord_client.client import DEFAULT_DOMAIN


def _executor() -> dg.ExecutorDefinition | None:
    choice = os.environ.get("ENCORD_EXECUTOR", "in_process")
    if choice == "celery":
        from dagster_celery import celery_executor

        return celery_executor
    if choice == "k8s":
        from dagster_k8s import k8s_job_executor

        return k8s_job_executor
    if choice == "multiprocess":
        return dg.multiprocess_executor
    return None


@dg.definitions
def defs() -> dg.Definitions:
    use_token = bool(os.environ.get("ENCORD_BEARER_TOKEN"))
    source_options = {
        option: os.environ[variable]
        for option, variable in (
            ("endpoint_url", "ENCORD_SOURCE_ENDPOINT_URL"),
            ("region", "ENCORD_SOURCE_REGION"),
        )
        if os.environ.get(variable)
    }
    config = {
        "name": os.environ.get("ENCORD_PIPELINE", "ingest"),
        "encord": {
            # Variable names only: the key is read at run time, never stored in run config.
            ("bearer_token_env" if use_token else "ssh_private_key_env"): (
                "ENCORD_BEARER_TOKEN" if use_token else "ENCORD_SSH_KEY"
            ),
            "domain": os.environ.get("ENCORD_DOMAIN") or DEFAULT_DOMAIN,
        },
        # The URL may carry a password: by variable name too.
        "ledger": {"url_env": "ENCORD_LEDGER_URL"} if os.environ.get("ENCORD_LEDGER_URL") else {},
        "source": {"url": os.environ["ENCORD_SOURCE_URL"], "options": source_options},
        "registration": {
            "folder": os.environ["ENCORD_FOLDER"],
            "integration": os.environ["ENCORD_INTEGRATION"],
        },
        "sensors": {"running": True},
    }
    return build_encord_ingestion(config, executor=_executor())
