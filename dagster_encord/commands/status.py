"""`dagster-encord status PIPELINE.yaml|NAME`: files per state, open chunks, quarantined files,
and where each label export stands.

Given the pipeline's file, the ledger is the one its `ledger:` section names (`url_env` is read
from the environment); given a name, `--ledger` or the SQLite ledger under DAGSTER_HOME.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dagster_encord.ledger import Ledger


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "pipeline", metavar="PIPELINE.yaml|NAME", help="the pipeline's file, or its name"
    )
    parser.add_argument(
        "--ledger", help="ledger SQLAlchemy URL (default: SQLite under DAGSTER_HOME)"
    )
    parser.add_argument(
        "--quarantined", type=int, default=20, help="how many quarantined files to list"
    )


def run(args: argparse.Namespace) -> int:
    from dagster_encord.commands.pipeline_arg import pipeline_file
    from dagster_encord.ledger import ChunkState, FileState, Ledger
    from dagster_encord.pipeline.settings import ledger_of

    config = pipeline_file(args.pipeline)
    name = config.name if config is not None else args.pipeline
    if args.ledger:
        ledger = Ledger(args.ledger, pipeline=name, create_tables=False)
    elif config is not None:
        ledger = ledger_of(config, create_tables=False)
    else:
        ledger = Ledger.for_dagster_home(name, create_tables=False)
    counts = ledger.counts()
    print(f"pipeline {name} ({ledger!r})")
    for state in ("registered", "pending", "failed", "quarantined", "skipped"):
        print(f"  {state:<12}{getattr(counts, state):>10,}")
        if state == "registered" and counts[FileState.LINKED]:
            print(f"    {'linked':<10}{counts[FileState.LINKED]:>10,}  (in a dataset)")
    print(f"  {'listed':<12}{counts.listed:>10,}  reconciles: {counts.reconciles}")
    chunks = ledger.chunks_in_state()
    by_state: dict[ChunkState, int] = {}
    for chunk in chunks:
        by_state[chunk.state] = by_state.get(chunk.state, 0) + 1
    print("chunks: " + (", ".join(f"{n} {s}" for s, n in sorted(by_state.items())) or "none"))
    quarantined = ledger.files_in_state(FileState.QUARANTINED)
    for row in quarantined[: args.quarantined]:
        print(f"  quarantined {row.key}: {row.error_class}: {row.error_message}")
    if len(quarantined) > args.quarantined:
        print(f"  ... and {len(quarantined) - args.quarantined} more")
    for export in config.exports if config is not None else []:
        _print_export(ledger, export.name)
    return 0


def _print_export(ledger: Ledger, name: str) -> None:
    from sqlalchemy.exc import DBAPIError

    try:
        state = ledger.export_states.get(name)
    except DBAPIError:  # a ledger made before exports existed: the first export creates it
        state = None
    if state is None or state.sequence == 0:
        print(f"export {name}: not run yet")
        return
    print(
        f"export {name}: {state.sequence} runs, labels edited through {state.edited_through}; "
        f"last manifest {state.manifest_url}"
    )
