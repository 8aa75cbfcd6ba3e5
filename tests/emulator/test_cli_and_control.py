"""The `dagster-encord emulator` command in its own process, driven by the SDK and by the control
API from this process; its SQLite state survives a restart."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from encord import EncordUserClient
from encord.exceptions import UnknownException

from dagster_encord.emulator.auth import generate_key_pair
from tests.emulators.processes import free_port

LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


@pytest.fixture
def key_pair() -> tuple[str, str]:
    return generate_key_pair()


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the command stops cleanly on it), by the PID we started."""
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=15)


def start_cli(args: list[str]) -> tuple[subprocess.Popen[bytes], str, str]:
    # The command prints a few banner lines only, so a pipe cannot fill up and block it.
    process = subprocess.Popen(
        [sys.executable, "-m", "dagster_encord.cli", "emulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    banner = ""
    for _ in range(10):
        line = process.stdout.readline().decode()
        banner += line
        match = LISTENING.search(banner)
        if match:
            rest = process.stdout.readline().decode()
            return process, match.group(1), banner + rest
        if not line:
            break
    stop_process(process)
    raise AssertionError(f"emulator did not start: {banner!r}")


@pytest.fixture
def cli_emulator(
    tmp_path: Path, key_pair: tuple[str, str]
) -> Iterator[tuple[str, Path, list[str]]]:
    keys = tmp_path / "authorized_keys"
    keys.write_text(f"# test key\n{key_pair[1]} test@example\n")
    args = [
        "--port",
        str(free_port()),
        "--state",
        str(tmp_path / "state.sqlite"),
        "--authorized-keys",
        str(keys),
        "--integration",
        "demo-bucket=s3",
    ]
    process, domain, banner = start_cli(args)
    try:
        yield domain, tmp_path, [*args, banner]
    finally:
        stop_process(process)


def test_cli_serves_sdk_and_control_api(
    cli_emulator: tuple[str, Path, list[str]], key_pair: tuple[str, str]
) -> None:
    domain, _, args = cli_emulator
    banner = args[-1]
    client = EncordUserClient.create_with_ssh_private_key(key_pair[0], domain=domain)
    (integration,) = client.get_cloud_integrations()
    assert integration.title == "demo-bucket" and integration.id in banner

    control = f"{domain}/__emulator"
    fault = {"method": "GET", "path": "*/cloud-integrations", "status": 503, "count": 4}
    assert requests.post(f"{control}/faults/http", json=fault, timeout=10).status_code == 200
    with pytest.raises(UnknownException):
        client.get_cloud_integrations()  # 1 try + 3 retries, all 503
    counters = requests.get(f"{control}/counters", timeout=10).json()
    assert counters["GET /v2/public/cloud-integrations"] == 5
    assert requests.delete(f"{control}/counters", timeout=10).json() == {}
    assert requests.get(f"{control}/counters", timeout=10).json() == {}

    other_key = requests.post(f"{control}/keys/generate", json={}, timeout=10).json()["privateKey"]
    other = EncordUserClient.create_with_ssh_private_key(other_key, domain=domain)
    other.create_storage_folder("from-control-key")
    folders = requests.get(f"{control}/folders", timeout=10).json()
    assert [f["name"] for f in folders] == ["from-control-key"]
    state = requests.get(f"{control}/state", timeout=10).json()
    assert state["folders"] == 1 and state["duplicateItems"] == 0


def test_cli_state_survives_restart(tmp_path: Path, key_pair: tuple[str, str]) -> None:
    keys = tmp_path / "keys"
    keys.write_text(key_pair[1] + "\n")
    args = [
        "--port",
        str(free_port()),
        "--state",
        str(tmp_path / "s.sqlite"),
        "--authorized-keys",
        str(keys),
        "--integration",
        "bucket",
    ]
    process, domain, _ = start_cli(args)
    try:
        client = EncordUserClient.create_with_ssh_private_key(key_pair[0], domain=domain)
        integration = client.get_cloud_integrations()[0].id
        folder = client.create_storage_folder("kept")
        job = folder.add_private_data_to_folder_start(
            integration, {"images": [{"objectUrl": "s3://b/k.jpg"}]}
        )
        assert folder.add_private_data_to_folder_get_result(job).units_done_count == 1
    finally:
        stop_process(process)
    process, domain, _ = start_cli(args)
    try:
        client = EncordUserClient.create_with_ssh_private_key(key_pair[0], domain=domain)
        assert [i.id for i in client.get_cloud_integrations()] == [integration]  # not added twice
        (item,) = client.get_storage_folder(folder.uuid).list_items()
        assert item.url == "s3://b/k.jpg"
    finally:
        stop_process(process)


def test_cli_rejects_a_bad_key_file(tmp_path: Path) -> None:
    bad = tmp_path / "keys"
    bad.write_text("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7 not-ed25519\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagster_encord.cli",
            "emulator",
            "--port",
            "0",
            "--authorized-keys",
            str(bad),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"{bad} line 1" in result.stderr and "Traceback" not in result.stderr
