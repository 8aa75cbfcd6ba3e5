"""`dagster-encord` command line. Each subcommand lives in `dagster_encord.commands.<module>`.

Command modules are imported only when their command runs, so `--help` stays fast and heavy SDKs
load only where needed. Each module exposes `add_arguments(parser)` and `run(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType

from dagster_encord.errors import DagsterEncordError

DESCRIPTION = "Register cloud-bucket data in Encord and keep it in sync, with Dagster."
EPILOG = "Run `dagster-encord COMMAND --help` for a command's options."

# name -> (module under dagster_encord.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "list": ("list", "stream a bucket listing (s3, gs, az, file), one JSON line each with --jsonl"),
    "run": ("run", "run a PIPELINE.yaml in process: listing, chunks, metadata, checks"),
    "export": ("export", "one-off label exports of a PIPELINE.yaml (JSON or COCO, into a bucket)"),
    "plan": ("plan", "dry run: list a source and write its registration manifests"),
    "validate-metadata": ("validate_metadata", "check clientMetadata against a metadata schema"),
    "emulator": ("emulator", "run the Encord API emulator on 127.0.0.1 in the foreground"),
    "demo": ("demo", "start the emulator, a sample bucket and dagster dev (--headless: run once)"),
    "status": ("status", "files per state, chunks and quarantined files of a pipeline"),
}


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """Only the command named in `argv` gets its full arguments (and its imports)."""
    requested = next((arg for arg in argv if arg in COMMANDS), None)
    parser = argparse.ArgumentParser(prog="dagster-encord", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument(
        "--version", action="version", version=f"dagster-encord {package_version()}"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        command_parser.set_defaults(_module=module_name)
        if name == requested:
            _load(module_name).add_arguments(command_parser)
    return parser


def package_version() -> str:
    try:
        return version("dagster-encord")
    except PackageNotFoundError:  # a source checkout that was never installed
        return "unknown (not installed)"


def _load(module_name: str) -> ModuleType:
    return importlib.import_module(f"dagster_encord.commands.{module_name}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    try:
        return int(_load(args._module).run(args) or 0)
    except DagsterEncordError as error:
        print(f"dagster-encord: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
