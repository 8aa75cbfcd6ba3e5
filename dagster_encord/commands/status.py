"""`dagster-encord status PIPELINE`: files per state, open chunks and quarantined files."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pipeline", help="the pipeline name given to build_encord_ingestion")
    parser.add_argument(
        "--ledger", help="ledger SQLAlchemy URL (default: SQLite under DAGSTER_HOME)"
    )
    parser.add_argument(
        "--quarantined", type=int, default=20, help="how many quarantined files to list"
    )


def run(args: argparse.Namespace) -> int:
    from dagster_encord.ledger import ChunkState, FileState, Ledger

    ledger = (
        Ledger(args.ledger, pipeline=args.pipeline, create_tables=False)
        if args.ledger
        else Ledger.for_dagster_home(args.pipeline, create_tables=False)
    )
    counts = ledger.counts()
    print(f"pipeline {args.pipeline} ({ledger!r})")
    for state in ("registered", "pending", "failed", "quarantined", "skipped"):
        print(f"  {state:<12}{getattr(counts, state):>10,}")
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
    return 0
