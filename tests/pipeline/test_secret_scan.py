"""Secrets never reach what the Dagster UI shows: the repository snapshot served by a real code
server, read through the webserver's GraphQL, plus the run logs and materializations of a run."""

from __future__ import annotations

import json
import os
import secrets
import textwrap
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql

from dagster_encord.config import pipeline_config
from dagster_encord.errors import ConfigError
from tests.pipeline.harness import KEY_ENV, Harness

UI_QUERY = """
query {
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes {
        name
        allTopLevelResourceDetails {
          name description resourceType
          configFields { name description }
          configuredValues { key value type }
        }
        sensors { name description }
        jobs { name description }
        assetNodes {
          assetKey { path } description groupName
          metadataEntries { label description ... on TextMetadataEntry { text }
            ... on UrlMetadataEntry { url } ... on PathMetadataEntry { path } }
        }
      }
    }
    ... on PythonError { message }
  }
}
"""


def _definitions_file(tmp_path: Path, config: dict[str, Any]) -> Path:
    path = tmp_path / "definitions.py"
    path.write_text(
        textwrap.dedent(
            f"""
            import json
            from dagster_encord import build_encord_ingestion

            defs = build_encord_ingestion(json.loads({json.dumps(json.dumps(config))}))
            """
        )
    )
    return path


def test_secrets_are_absent_from_the_ui_and_the_snapshot(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Generated now, so no key-like literal is committed; each lives only in the environment.
    token, password, account_key = (secrets.token_urlsafe(24) for _ in range(3))
    monkeypatch.setenv("SCAN_LEDGER_URL", f"sqlite:///{tmp_path / 'l.sqlite'}?pw={password}")
    monkeypatch.setenv("SCAN_ACCOUNT_KEY", account_key)
    monkeypatch.setenv("SCAN_TOKEN", token)
    config = harness.config(
        encord={"ssh_private_key_env": KEY_ENV},
        ledger={"url": None, "url_env": "SCAN_LEDGER_URL"},
        source={
            "options": {"endpoint_url": harness.endpoint, "account_key_env": "SCAN_ACCOUNT_KEY"}
        },
    )
    with (
        dg.instance_for_test() as instance,
        define_out_of_process_context(
            str(_definitions_file(tmp_path, config)), "defs", instance
        ) as context,
    ):
        result = execute_dagster_graphql(context, UI_QUERY)
    assert result.errors is None, result.errors
    shown = json.dumps(result.data)
    repository = result.data["repositoriesOrError"]["nodes"][0]
    resources = {r["name"]: r for r in repository["allTopLevelResourceDetails"]}
    configured = {v["key"]: v for v in resources["encord"]["configuredValues"]}
    # The UI shows which variable holds the key, never the key.
    assert configured["ssh_private_key"] == {
        "key": "ssh_private_key",
        "value": KEY_ENV,
        "type": "ENV_VAR",
    }
    ledger_values = {v["key"]: v for v in resources["ledger"]["configuredValues"]}
    assert ledger_values["url"]["value"] == "SCAN_LEDGER_URL"
    assert len(repository["assetNodes"]) >= 4 and repository["sensors"]
    for secret in (os.environ[KEY_ENV], token, password, account_key):
        for fragment in [secret, *secret.splitlines()[1:-1]]:
            if fragment:
                assert fragment not in shown


def test_literal_secrets_are_refused_without_being_repeated(harness: Harness) -> None:
    secret = secrets.token_urlsafe(24)
    attempts = [
        harness.config(ledger={"url": f"postgresql://dagster:{secret}@db/ledger"}),
        harness.config(source={"url": f"https://a.blob.core.windows.net/c?sv=1&sig={secret}"}),
        harness.config(source={"options": {"sas_token": secret}}),
        harness.config(encord={"ssh_private_key_env": f"{secret}\n{secret}"}),
        harness.config(encord={"domain": f"https://user:{secret}@api.encord.com"}),
    ]
    for attempt in attempts:
        with pytest.raises(ConfigError) as refused:
            pipeline_config(attempt)
        assert secret not in str(refused.value) and secret not in repr(refused.value)
