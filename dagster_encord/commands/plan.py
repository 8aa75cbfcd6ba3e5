"""`dagster-encord plan SOURCE_URL|PIPELINE.yaml --out DIR`: a dry run of listing and planning.

Given the pipeline's file, it plans what the pipeline would: its source, options and filters,
its planner, and its metadata inline (sidecars and mapping files are never planned as data).

Lists the source, diffs it against a ledger (a throwaway SQLite file unless `--ledger` names
one), writes one manifest per chunk to DIR, and prints a summary: items, files, chunks and bytes
per type, then every skipped file with its reason (also written to DIR/skipped.tsv, which a
glob for CSV manifests does not pick up). Nothing is sent to Encord.

With `--ledger`, the listing is diffed against that ledger, so only the files a pipeline on it
would plan now are planned, with the chunk ids it would give them; nothing is stored there
(`Ledger.preview` rolls its transaction back).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TextIO

from dagster_encord.commands.pipeline_arg import pipeline_file
from dagster_encord.commands.source_args import add_source_arguments, source_options
from dagster_encord.credentials import redact_url
from dagster_encord.errors import PlanningError
from dagster_encord.ledger import Ledger, PlannedChunk, PlanOutcome
from dagster_encord.pipeline import IngestionSettings
from dagster_encord.planner import Chunk, PlannerConfig
from dagster_encord.sources import ObjectRecord

_SHOWN_SKIPS = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source_url",
        metavar="SOURCE_URL|PIPELINE.yaml",
        help="s3://, gs://, az:// or file://, or a pipeline file (its source, planner, metadata)",
    )
    parser.add_argument("--out", required=True, type=Path, help="folder for the manifests")
    parser.add_argument("--config", type=Path, help="planner config file (YAML or JSON)")
    parser.add_argument("--ledger", help="ledger URL (default: a throwaway SQLite file)")
    parser.add_argument("--format", choices=("json", "csv"), help="manifest format")
    parser.add_argument(
        "--packing",
        choices=("dense", "stable"),
        help="chunk packing (default: the config's, dense): dense fills chunks to ~0.9 of the "
        "budget; stable keeps one added file from changing any other chunk",
    )
    parser.add_argument(
        "--pipeline", help="pipeline name in the ledger (default: the file's name, else default)"
    )
    parser.add_argument("--prefix", help="list only keys under this prefix")
    add_source_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from dagster_encord.sources.registry import open_source

    pipeline = pipeline_file(args.source_url)
    settings = IngestionSettings.from_config(pipeline) if pipeline is not None else None
    if args.config:
        config = PlannerConfig.load(args.config)
    else:
        config = settings.planner if settings is not None else PlannerConfig()
    if args.format:
        config = dataclasses.replace(config, format=args.format)
    if args.packing:
        config = dataclasses.replace(config, packing=args.packing)
    out: Path = args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PlanningError(f"--out {out}: cannot create the folder ({error})") from None
    if settings is not None:
        source_url = settings.source_url
        source = open_source(source_url, **{**settings.source_options(), **source_options(args)})
        pages = _without_metadata_objects(
            source.list_pages(
                settings.prefix if args.prefix is None else args.prefix,
                include=settings.include,
                exclude=settings.exclude,
            ),
            settings.is_metadata_object,
        )
        metadata_for, group_metadata_for = settings.metadata_for, settings.group_metadata_for
    else:
        source_url = args.source_url
        source = open_source(source_url, **source_options(args))
        pages = source.list_pages(args.prefix or "")
        metadata_for = group_metadata_for = None
    pipeline_name = args.pipeline or (pipeline.name if pipeline is not None else "default")

    def write(planned: PlannedChunk, chunk: Chunk) -> None:
        (out / f"{planned.chunk_id}.{chunk.format}").write_text(
            chunk.manifest_text(), encoding="utf-8"
        )

    with tempfile.TemporaryDirectory(prefix="dagster-encord-plan-") as scratch:
        ledger_url = args.ledger or str(Path(scratch) / "ledger.sqlite")
        ledger = Ledger(ledger_url, pipeline=pipeline_name)
        try:
            diff, outcome = ledger.preview(
                pages,
                redact_url(source_url),
                config,
                on_chunk=write,
                metadata_for=metadata_for,
                group_metadata_for=group_metadata_for,
            )
        finally:
            ledger.close()
    if outcome.skipped:
        with (out / "skipped.tsv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, dialect="excel-tab")
            writer.writerow(["key", "object_url", "reason"])
            for skipped in outcome.skipped:
                writer.writerow([skipped.key, skipped.object_url, skipped.reason])
    print(
        f"listed {diff.listed:,} files: {diff.new:,} new, {diff.changed:,} changed, "
        f"{diff.deleted:,} deleted, {diff.unchanged:,} unchanged"
    )
    print_summary(outcome, out, sys.stdout)
    return 0


def _without_metadata_objects(
    pages: Iterable[list[ObjectRecord]], is_metadata: Callable[[str], bool] | None
) -> Iterator[list[ObjectRecord]]:
    """Sidecars and the mapping file are metadata: a pipeline never registers them."""
    for page in pages:
        yield [r for r in page if not is_metadata(r.key)] if is_metadata else page


def print_summary(outcome: PlanOutcome, out: Path, stream: TextIO) -> None:
    totals = outcome.totals
    rows = [
        (lane, totals.items[lane], totals.files[lane], totals.chunks[lane], totals.bytes[lane])
        for lane in sorted(totals.chunks)
    ]
    rows.append(
        (
            "total",
            sum(totals.items.values()),
            sum(totals.files.values()),
            sum(totals.chunks.values()),
            sum(totals.bytes.values()),
        )
    )
    header = ("type", "items", "files", "chunks", "bytes")
    table = [header, *[(r[0], *(f"{n:,}" for n in r[1:])) for r in rows]]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        print("  ".join(cells), file=stream)
    print(f"manifests written to {out}", file=stream)
    if outcome.held:
        print(f"{len(outcome.held)} group(s) held by the quiet period:", file=stream)
        for held in outcome.held:
            print(f"  {held.item_key}: ready at {held.ready_at.isoformat()}", file=stream)
    print(f"files skipped: {len(outcome.skipped):,}", file=stream)
    for skipped in outcome.skipped[:_SHOWN_SKIPS]:
        print(f"  {skipped.key}: {skipped.reason}", file=stream)
    if len(outcome.skipped) > _SHOWN_SKIPS:
        print(
            f"  … {len(outcome.skipped) - _SHOWN_SKIPS:,} more in {out / 'skipped.tsv'}",
            file=stream,
        )
    for warning in outcome.warnings:
        print(f"warning: {warning}", file=stream)
    print("dry run: nothing was sent to Encord", file=stream)
