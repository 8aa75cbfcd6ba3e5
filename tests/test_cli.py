"""The `dagster-encord` command line: help, version and the source flags every command shares."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import boto3
import pytest

from dagster_encord.cli import COMMANDS, DESCRIPTION, main

CLI = [sys.executable, "-m", "dagster_encord.cli"]
# The commands that open a bucket; each must take the shared source flags.
SOURCE_COMMANDS = ["list", "plan", "validate-metadata"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120)


def test_help_says_what_the_tool_does_and_lists_every_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert DESCRIPTION in " ".join(out.split())
    assert "Register cloud-bucket data in Encord" in DESCRIPTION
    assert "dagster_encord.commands" not in out and "module" not in out
    for name, (_, help_text) in COMMANDS.items():
        assert name in out
        assert help_text.split()[0] in out


def test_version_prints_the_installed_version() -> None:
    result = _run("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"dagster-encord {version('dagster-encord')}\n"


def test_unknown_command_exits_non_zero() -> None:
    result = _run("no-such-command")
    assert result.returncode != 0
    assert "invalid choice" in result.stderr


def test_every_command_that_opens_a_source_takes_the_shared_source_flags(
    capsys: pytest.CaptureFixture[str],
) -> None:
    opens_source = []
    for name, (module_name, _) in COMMANDS.items():
        spec = importlib.util.find_spec(f"dagster_encord.commands.{module_name}")
        assert spec is not None and spec.origin is not None
        text = Path(spec.origin).read_text()
        if "open_source(" in text:
            opens_source.append(name)
            assert "add_source_arguments(parser)" in text, name
    assert opens_source == SOURCE_COMMANDS
    for name in SOURCE_COMMANDS:
        with pytest.raises(SystemExit):
            main([name, "--help"])
        out = capsys.readouterr().out
        assert "--endpoint-url URL" in out and "--source-option KEY=VALUE" in out, name


def _seed(endpoint: str, bucket: str) -> None:
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.put_object(Bucket=bucket, Key="cams/a.jpg", Body=b"0123")
    s3.put_object(Bucket=bucket, Key="cams/a.jpg.json", Body=json.dumps({"shard": 7}).encode())


@pytest.mark.parametrize("flag", ["--endpoint-url", "--source-option"])
@pytest.mark.parametrize("command", SOURCE_COMMANDS)
def test_endpoint_url_reaches_the_source(
    command: str,
    flag: str,
    s3_bucket: tuple[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    endpoint, bucket = s3_bucket
    _seed(endpoint, bucket)
    (tmp_path / "schema.yaml").write_text("keys:\n  shard: number\n")
    extra = {
        "list": ["--jsonl"],
        "plan": ["--out", str(tmp_path / "out")],
        "validate-metadata": ["--schema", str(tmp_path / "schema.yaml")],
    }[command]
    endpoint_args = (
        ["--endpoint-url", endpoint]
        if flag == "--endpoint-url"
        else [flag, f"endpoint_url={endpoint}"]
    )
    assert main([command, f"s3://{bucket}/cams/", *extra, *endpoint_args]) == 0
    out, err = capsys.readouterr()
    if command == "list":
        keys = [json.loads(line)["key"] for line in out.splitlines()]
        assert keys == ["cams/a.jpg", "cams/a.jpg.json"]
    elif command == "plan":
        assert "listed 2 files: 2 new" in out
        [manifest] = (tmp_path / "out").glob("image-*.json")
        assert f"{endpoint}/{bucket}/cams/a.jpg" in manifest.read_text()
    else:
        assert "checked 1 files" in err and "0 errors" in err


@pytest.mark.parametrize("command", SOURCE_COMMANDS)
def test_a_malformed_source_option_is_a_usage_error(command: str, tmp_path: Path) -> None:
    required = {"plan": ["--out", str(tmp_path)], "validate-metadata": ["--schema", "s.yaml"]}
    result = _run(command, tmp_path.as_uri(), *required.get(command, []), "--source-option", "oops")
    assert result.returncode == 2
    assert "argument --source-option: expected KEY=VALUE" in result.stderr
    assert "'oops'" in result.stderr
    assert "Traceback" not in result.stderr


def test_conflicting_endpoints_are_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "list",
            tmp_path.as_uri(),
            "--endpoint-url",
            "http://127.0.0.1:1",
            "--source-option",
            "endpoint_url=http://127.0.0.1:2",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "--endpoint-url" in err and "--source-option endpoint_url" in err
