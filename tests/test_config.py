"""The configuration model: bad input gets one clear message (file, field, what was expected) and
secrets are refused without being repeated."""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from dagster_encord.config import PipelineConfig, load_pipeline_config, pipeline_config
from dagster_encord.credentials import redact_url, resolve_env_options
from dagster_encord.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def _valid() -> dict[str, Any]:
    return {
        "name": "cams",
        "encord": {"ssh_private_key_env": "ENCORD_SSH_KEY"},
        "source": {"url": "s3://bucket", "prefix": "cams/"},
        "registration": {"folder": "landing", "integration": "my-s3"},
    }


def _with(path: str, value: Any) -> dict[str, Any]:
    data = _valid()
    *parents, leaf = path.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return data


# A generated secret per run: nothing key-like is committed.
SECRET = secrets.token_urlsafe(24)

BAD_INPUTS = [
    pytest.param(
        _with("registration.foldr", "x"),
        "registration.foldr: unknown field",
        id="unknown-field",
    ),
    pytest.param(
        _with("registration.max_attempts", "many"),
        "registration.max_attempts: Input should be a valid integer",
        id="wrong-type",
    ),
    pytest.param(
        {k: v for k, v in _valid().items() if k != "registration"},
        "registration: required field is missing",
        id="missing-required",
    ),
    pytest.param(
        _with("encord.ssh_private_key_env", f"{SECRET}\n{SECRET}"),  # a pasted value, not a name
        "encord.ssh_private_key_env: expected the NAME of an environment variable",
        id="literal-key",
    ),
    pytest.param(
        _with("ledger.url", f"postgresql://dagster:{SECRET}@db/ledger"),
        "ledger.url: the URL carries a password (postgresql://dagster:***@db/ledger); put the "
        "URL in an environment variable and set url_env",
        id="password-in-url",
    ),
    pytest.param(
        _with("source.url", f"https://acct.blob.core.windows.net/c?sv=2024&sig={SECRET}"),
        "source.url: the URL carries a signature or token in its query",
        id="pasted-sas",
    ),
    pytest.param(
        _with("source.options", {"secret_access_key": SECRET}),
        "source.options: secret_access_key: a credential cannot be written in the "
        "configuration; use secret_access_key_env",
        id="literal-option",
    ),
    pytest.param(
        _with("source.url", "ftp://bucket/x"),
        "source.url: no source handles 'ftp://bucket/x' (scheme ftp://): use s3://BUCKET",
        id="unknown-scheme",
    ),
    pytest.param(
        _with("registration.planner", {"budget": {"image": 9_000_000}}),
        "registration.planner: planner config budget['image'] = 9,000,000 URLs is over "
        "Encord's limit",
        id="planner-limit",
    ),
    pytest.param(
        _with("metadata", {"path_regex": "(\\d+)/"}),
        "metadata.path_regex: path pattern '(\\\\d+)/' has no named groups",
        id="regex-without-groups",
    ),
    pytest.param(
        _with("registration.poll_budget_seconds", 0),
        "registration.poll_budget_seconds: expected a number more than 0, got 0",
        id="bound",
    ),
    pytest.param(_with("name", "my cams"), "name: 'my cams': use letters", id="bad-name"),
    pytest.param(
        _with("datasets", [{"title": "train", "inclde": ["a/**"]}]),
        "datasets.0.inclde: unknown field",
        id="dataset-unknown-field",
    ),
    pytest.param(
        _with("datasets", [{"title": "train"}, {"title": "train", "include": ["b/**"]}]),
        "datasets: dataset title 'train' is listed twice; merge its rules into one entry",
        id="dataset-title-twice",
    ),
    pytest.param(
        _with("datasets", [{"title": "train", "where": {"split": ["a", "b"]}}]),
        "datasets.0.where: split: expected a text, number or boolean to compare with, got list",
        id="dataset-where-list",
    ),
    pytest.param(
        _with("on_delete", "purge"),
        "on_delete: Input should be 'keep', 'unlink' or 'delete'",
        id="on-delete-value",
    ),
    pytest.param(
        _with("on_delete", "unlink"),
        "on_delete: unlink acts on dataset links; add a datasets: section or remove on_delete",
        id="on-delete-without-datasets",
    ),
]


@pytest.mark.parametrize(("document", "message"), BAD_INPUTS)
def test_bad_yaml_gets_one_clear_message(
    tmp_path: Path, document: dict[str, Any], message: str
) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        yaml.safe_dump({"type": "dagster_encord.EncordPipeline", "attributes": document})
    )
    with pytest.raises(ConfigError) as raised:
        load_pipeline_config(path)
    text = str(raised.value)
    assert text.startswith(f"{path}: ")
    assert message in text
    assert SECRET not in text and SECRET not in repr(raised.value)


def test_missing_schema_file_is_named_relative_to_the_yaml(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "pipeline.yaml"
    path.write_text(yaml.safe_dump(_with("metadata", {"schema": "schema.yaml"})))
    with pytest.raises(ConfigError, match=r"metadata\.schema: file .*/conf/schema\.yaml does not"):
        load_pipeline_config(path)
    (tmp_path / "conf" / "schema.yaml").write_text("keys: {split: varchar}\n")
    config = load_pipeline_config(path)
    assert config.metadata is not None
    assert config.metadata.schema_file == str(tmp_path / "conf" / "schema.yaml")


def test_several_problems_are_listed_together() -> None:
    data = _with("registration.foldr", "x")
    data["sensors"] = {"interval_seconds": "often"}
    with pytest.raises(ConfigError) as raised:
        pipeline_config(data, origin="pipeline.yaml")
    text = str(raised.value)
    assert text.startswith("pipeline.yaml: 2 problems:")
    assert "registration.foldr: unknown field" in text
    assert "sensors.interval_seconds: Input should be a valid integer" in text


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text("name: cams\nsource: {url: s3://b\n")
    with pytest.raises(ConfigError, match=rf"{path} line \d+: "):
        load_pipeline_config(path)


def test_defaults_and_attributes_without_a_component_header() -> None:
    config = pipeline_config(_valid())
    assert isinstance(config, PipelineConfig)
    assert config.ledger.url is None and config.ledger.url_env is None
    assert config.registration.max_attempts == 5
    assert config.sensors.running is False
    assert config.registration.planner_config().budget_for("image") == 1000


def test_datasets_section() -> None:
    data = _valid()
    data["datasets"] = [
        {
            "title": "cams-train",
            "description": "Training frames",
            "include": ["site A/**"],
            "where": {"split": "train"},
        },
        {"title": "cams-val", "include": ["site B/**"]},
    ]
    data["on_delete"] = "unlink"
    config = pipeline_config(data)
    assert [rule.title for rule in config.datasets] == ["cams-train", "cams-val"]
    assert config.datasets[0].where == {"split": "train"}
    assert config.datasets[1].include == ["site B/**"] and config.datasets[1].where == {}
    assert config.on_delete == "unlink"
    assert (
        pipeline_config(_valid()).datasets == [] and pipeline_config(_valid()).on_delete == "keep"
    )


def test_env_options_are_read_at_run_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZ_KEY_FOR_TEST", SECRET)
    options = {"endpoint_url": "http://127.0.0.1:1", "account_key_env": "AZ_KEY_FOR_TEST"}
    pipeline_config(_with("source.options", options))  # names only: accepted
    assert resolve_env_options(options, "source.options") == {
        "endpoint_url": "http://127.0.0.1:1",
        "account_key": SECRET,
    }
    monkeypatch.delenv("AZ_KEY_FOR_TEST")
    with pytest.raises(ConfigError, match="account_key_env: environment variable AZ_KEY_FOR_TEST"):
        resolve_env_options(options, "source.options")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("s3://bucket/prefix", "s3://bucket/prefix"),
        ("postgresql://u:pw@h:5432/db", "postgresql://u:***@h:5432/db"),
        (
            "https://a.blob.core.windows.net/c?sv=1&sig=abc&se=2",
            "https://a.blob.core.windows.net/c?sv=1&se=2",
        ),
        ("https://a.blob.core.windows.net/c?sig=abc", "https://a.blob.core.windows.net/c"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_run_with_a_bad_file_prints_one_message_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(_with("registration.max_attempts", "many")))
    done = subprocess.run(
        [sys.executable, "-m", "dagster_encord.cli", "run", str(path), "--once"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"dagster-encord: {path}: registration.max_attempts: Input should be a valid integer, "
        "unable to parse string as an integer"
    ]
    assert "Traceback" not in done.stderr
