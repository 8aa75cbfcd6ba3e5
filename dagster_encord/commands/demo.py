"""`dagster-encord demo [--headless]`: the embedded default, end to end, on one machine.

It starts the Encord emulator (SQLite state), a sample S3 bucket on moto with generated media
(images, videos, an image sequence, a DICOM series), and then either `dagster dev` on 127.0.0.1
with the quick-start pipeline and its sensors running, or (`--headless`) runs the pipeline once
in process and prints what was registered. Dagster telemetry is off. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from dagster_encord.errors import DagsterEncordError

BUCKET = "encord-demo"
FOLDER = "demo-landing"
INTEGRATION = "demo-s3"
DAGSTER_YAML = """\
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 2
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--headless", action="store_true", help="run the pipeline once and print what registered"
    )
    parser.add_argument(
        "--dir",
        type=Path,
        help="where DAGSTER_HOME, the ledger and the emulator state live "
        "(default .demo; --headless: a fresh temporary folder)",
    )
    parser.add_argument("--port", type=int, default=3000, help="Dagster UI port on 127.0.0.1")
    parser.add_argument("--encord-port", type=int, default=0, help="emulator port (0 = free)")
    parser.add_argument("--s3-port", type=int, default=0, help="moto S3 port (0 = free)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_bucket(stack: ExitStack, port: int) -> str:
    """A moto S3 server on 127.0.0.1 with the sample media; returns its endpoint."""
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    from dagster_encord.quickstart.sample_media import sample_files

    # moto accepts any credentials; these are made up now so no real ones are ever used.
    os.environ["AWS_ACCESS_KEY_ID"] = f"demo{secrets.token_hex(6)}"
    os.environ["AWS_SECRET_ACCESS_KEY"] = secrets.token_urlsafe(24)
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's access log
    port = port or _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    stack.callback(server.stop)
    endpoint = f"http://127.0.0.1:{port}"
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=BUCKET)
    for key, body in sample_files().items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return endpoint


def _prepare_encord(stack: ExitStack, root: Path, port: int) -> dict[str, str]:
    """Start the emulator; ensure the demo folder and integration; a fresh key for this run."""
    from encord import EncordUserClient

    from dagster_encord.emulator import EncordEmulator

    emulator = EncordEmulator(state_path=root / "encord_emulator.sqlite", port=port)
    emulator.start()
    stack.callback(emulator.stop)
    key = emulator.new_ssh_key()
    user = EncordUserClient.create_with_ssh_private_key(key, domain=emulator.domain)
    folders = [f for f in user.find_storage_folders(search=FOLDER) if f.name == FOLDER]
    folder = folders[0] if folders else user.create_storage_folder(FOLDER, "dagster-encord demo")
    if not user.get_cloud_integrations(filter_integration_titles=[INTEGRATION]):
        emulator.add_integration(INTEGRATION, "s3")
    return {"domain": emulator.domain, "ssh_key": key, "folder": str(folder.uuid)}


def run(args: argparse.Namespace) -> int:
    os.environ["DAGSTER_DISABLE_TELEMETRY"] = "1"
    if args.dir is not None:
        root = args.dir.resolve()
    elif args.headless:
        root = Path(tempfile.mkdtemp(prefix="dagster-encord-demo-"))
    else:
        root = Path(".demo").resolve()
    home = root / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)

    from dagster_encord.quickstart.config import ENV

    with ExitStack() as stack:
        print(f"dagster-encord demo in {root}", flush=True)
        endpoint = _start_bucket(stack, args.s3_port)
        print(f"  sample bucket  s3://{BUCKET} on moto at {endpoint}", flush=True)
        encord = _prepare_encord(stack, root, args.encord_port)
        print(f"  Encord emulator {encord['domain']} (folder {FOLDER!r})", flush=True)
        os.environ.update(
            {
                ENV["domain"]: encord["domain"],
                ENV["ssh_key"]: encord["ssh_key"],
                ENV["bucket_url"]: f"s3://{BUCKET}",
                ENV["s3_endpoint"]: endpoint,
                ENV["folder"]: FOLDER,
                ENV["integration"]: INTEGRATION,
            }
        )
        if args.headless:
            return _headless(root)
        _label_when_ready(stack)
        return _dagster_dev(args.port)
    return 0


def _headless(root: Path) -> int:
    """`dagster-encord run --once` on the demo's pipeline file (written for you to re-run)."""
    import yaml

    from dagster_encord.commands import run as run_command
    from dagster_encord.quickstart.config import demo_config

    pipeline_yaml = root / "pipeline.yaml"
    pipeline_yaml.write_text(
        yaml.safe_dump(
            {"type": "dagster_encord.EncordPipeline", "attributes": demo_config()},
            sort_keys=False,
        )
    )
    args = argparse.Namespace(
        pipeline_yaml=pipeline_yaml,
        once=True,
        dagster_home=Path(os.environ["DAGSTER_HOME"]),
        max_seconds=300.0,
        log_level="WARNING",
    )
    status = int(run_command.run(args))
    _print_items()
    if status == 0:
        status = _label_and_export(pipeline_yaml)
    print(f"\nRun it again with: dagster-encord run {pipeline_yaml} --once")
    return status


def _label_and_export(pipeline_yaml: Path) -> int:
    """Label a few rows through the SDK (as annotators would), then export them to the bucket."""
    from dagster_encord.commands import export as export_command
    from dagster_encord.quickstart.config import ENV, PROJECT
    from dagster_encord.quickstart.labels import label_demo_rows

    labelled = label_demo_rows(os.environ[ENV["domain"]], os.environ[ENV["ssh_key"]], PROJECT)
    print(f"\nlabelled {labelled or 0} rows of project {PROJECT!r} through the SDK; exporting:")
    args = argparse.Namespace(
        pipeline_yaml=pipeline_yaml,
        name=[],
        snapshot=False,
        dagster_home=Path(os.environ["DAGSTER_HOME"]),
        log_level="WARNING",
    )
    return int(export_command.run(args))


def _print_items() -> None:
    """Each Encord item and the files it holds (a sequence or a DICOM series is one item)."""
    from dagster_encord.dagster.resources import LedgerResource
    from dagster_encord.ledger import IN_ENCORD_FILE_STATES
    from dagster_encord.quickstart.config import PIPELINE

    rows = LedgerResource().get_ledger(PIPELINE).files_in_state(*IN_ENCORD_FILE_STATES)
    by_item: dict[str, list[str]] = {}
    for row in rows:
        by_item.setdefault(row.item_uuid or "?", []).append(row.key)
    print(f"\n{len(by_item)} Encord items in folder {FOLDER!r}:")
    for item_uuid, keys in sorted(by_item.items(), key=lambda pair: pair[1][0]):
        shown = keys[0] if len(keys) == 1 else f"{keys[0]} (+{len(keys) - 1} more files)"
        print(f"  {item_uuid}  {shown}")


def _label_when_ready(stack: ExitStack) -> None:
    """Once the pipeline has created the project, label a few rows (the label-edit sensors then
    export them); checks every few seconds in the background while `dagster dev` runs."""
    import threading

    from dagster_encord.quickstart.config import ENV, PROJECT
    from dagster_encord.quickstart.labels import label_demo_rows

    stop = threading.Event()
    stack.callback(stop.set)

    def labeller() -> None:
        while not stop.wait(5.0):
            try:
                done = label_demo_rows(
                    os.environ[ENV["domain"]], os.environ[ENV["ssh_key"]], PROJECT
                )
            except Exception as error:  # the demo goes on without labels
                print(f"demo labels: {type(error).__name__}: {error}", file=sys.stderr)
                return
            if done is not None:
                print(f"demo: labelled {done} rows of {PROJECT!r} (as annotators would)")
                return

    threading.Thread(target=labeller, name="demo-labels", daemon=True).start()


def _dagster_dev(port: int) -> int:
    workspace = Path("workspace.yaml")
    target = (
        ["-w", str(workspace)]
        if workspace.is_file()
        else ["-m", "dagster_encord.quickstart.definitions", "-a", "defs"]
    )
    dagster = Path(sys.executable).with_name("dagster")
    if not dagster.exists():
        raise DagsterEncordError(
            f"{dagster} not found; run scripts/bootstrap to install dagster into .venv"
        )
    print(
        f"\nOpen http://127.0.0.1:{port}/asset-groups/demo (Assets > demo): the sensors are on, "
        "the first runs start within a few seconds.\n"
        f"Runs: http://127.0.0.1:{port}/runs   Sensors: http://127.0.0.1:{port}/automation\n"
        "Press Ctrl-C to stop everything.\n",
        flush=True,
    )
    command = [str(dagster), "dev", *target, "-h", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(command, env=os.environ.copy())
    terminated = False

    def on_sigterm(signum: int, frame: object) -> None:
        # Python's default SIGTERM skips all cleanup and would orphan `dagster dev`.
        nonlocal terminated
        terminated = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        return process.wait()
    except KeyboardInterrupt:
        # Ctrl-C reached `dagster dev` through the terminal; SIGTERM reached only us.
        if terminated and process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        return 0
