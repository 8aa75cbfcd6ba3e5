"""`dagster-encord export PIPELINE.yaml [--name NAME ...] [--snapshot]`: one-off label exports.

Materializes the export assets alone (the project must exist: `run` creates it), on the Dagster
instance at DAGSTER_HOME, so the run shows in `dagster dev` like a scheduled one. Prints where
each export went; exit 1 when one fails.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pipeline_yaml", metavar="PIPELINE.yaml", type=Path, help="the pipeline")
    parser.add_argument(
        "--name",
        action="append",
        default=[],
        help="an export of the exports: section (repeat for several; default all)",
    )
    parser.add_argument(
        "--snapshot",
        action="store_true",
        help="write every matching row under snapshot-<time>/ whatever the export's mode",
    )
    parser.add_argument(
        "--dagster-home",
        type=Path,
        help="Dagster instance folder (default $DAGSTER_HOME, else .dagster_home)",
    )
    parser.add_argument(
        "--log-level", default="WARNING", help="Dagster run log level on the console (WARNING)"
    )


def run(args: argparse.Namespace) -> int:
    from dagster_encord.commands.run import dagster_home
    from dagster_encord.config import load_pipeline_config
    from dagster_encord.errors import ConfigError

    config = load_pipeline_config(args.pipeline_yaml)
    configured = [export.name for export in config.exports]
    if not configured:
        raise ConfigError(f"{args.pipeline_yaml}: has no exports: section to run")
    unknown = [name for name in args.name if name not in configured]
    if unknown:
        raise ConfigError(
            f"{args.pipeline_yaml}: no export named {unknown[0]!r}; "
            f"configured: {', '.join(configured)}"
        )
    if args.snapshot:
        exports = [export.model_copy(update={"mode": "snapshot"}) for export in config.exports]
        config = config.model_copy(update={"exports": exports})
    home = dagster_home(args.dagster_home)
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

    from dagster_encord.dagster.runner import export_in_instance

    outcome = export_in_instance(config, args.name or configured, log_level=args.log_level)
    for name, values in outcome.exports.items():
        if values.get("manifest"):
            print(
                f"{name}: {values['rows']} rows, {values['objects']} objects in "
                f"{values['shards']} shards -> {values['manifest']}"
            )
        else:
            print(f"{name}: no label edits since {values.get('edited_after')}: nothing written")
    if not outcome.success:
        print("an export FAILED (see the run's logs in the Dagster UI)", file=sys.stderr)
    return 0 if outcome.success else 1
