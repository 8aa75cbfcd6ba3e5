"""`dagster-encord validate-metadata SOURCE_URL --schema FILE`: check every object's clientMetadata
against a declared schema without sending anything. Prints every violation, one per line, and
exits 1 when any is an error (warnings alone exit 0).

Metadata is taken from sidecar JSON files (default `a.jpg.json`), a mapping file in the bucket,
and/or regex named groups on the path, merged in that order.
"""

from __future__ import annotations

import argparse
import sys

from dagster_encord.commands.source_args import add_source_arguments, source_options
from dagster_encord.metadata.schema import load_schema
from dagster_encord.metadata.sources import (
    FromPath,
    MappingFile,
    MetadataProvider,
    MetadataSources,
    SidecarJson,
    sidecar_key,
)
from dagster_encord.metadata.validate import MetadataValidator


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source_url", metavar="SOURCE_URL", help="s3://, gs://, az:// or file://")
    parser.add_argument("--schema", required=True, metavar="FILE", help="declared schema (YAML)")
    parser.add_argument("--prefix", default="", help="only objects under this key prefix")
    parser.add_argument(
        "--sidecar",
        choices=("append", "replace", "none"),
        default="append",
        help="sidecar naming: a.jpg.json (append, default), a.json (replace), or none",
    )
    parser.add_argument("--sidecar-suffix", default=".json", help="sidecar suffix (.json)")
    parser.add_argument("--mapping", metavar="KEY", help="mapping file (CSV/JSONL/Parquet) key")
    parser.add_argument(
        "--mapping-key-column", default="key", help="column with the object key or URL (key)"
    )
    parser.add_argument("--path-regex", metavar="REGEX", help="named groups become metadata")
    parser.add_argument(
        "--unknown-keys",
        choices=("allow", "warn", "reject"),
        help="override the schema's policy for undeclared keys",
    )
    add_source_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from dagster_encord.sources.registry import open_source

    schema = load_schema(args.schema)
    validator = MetadataValidator(schema, unknown_keys=args.unknown_keys)
    source = open_source(args.source_url, **source_options(args))

    # First pass: every key, so sidecars are read only where they exist.
    all_keys: set[str] = set()
    for page in source.list_pages(args.prefix):
        all_keys.update(record.key for record in page)

    providers: list[MetadataProvider] = []
    sidecar: SidecarJson | None = None
    if args.sidecar != "none":
        sidecar = SidecarJson(
            source, naming=args.sidecar, suffix=args.sidecar_suffix, known_keys=frozenset(all_keys)
        )
        providers.append(sidecar)
    if args.mapping:
        providers.append(
            MappingFile(source, args.mapping, key_column=args.mapping_key_column, schema=schema)
        )
    if args.path_regex:
        providers.append(FromPath(args.path_regex, schema))
    sources = MetadataSources(providers)

    # Sidecars of listed objects are metadata, not data.
    skip = {args.mapping} if args.mapping else set()
    if sidecar is not None:
        skip |= {
            sidecar_key(key, naming=sidecar.naming, suffix=sidecar.suffix)
            for key in all_keys
            if not key.endswith(sidecar.suffix)
        }
    checked = errors = warnings = 0
    failed_files: set[str] = set()
    for page in source.list_pages(args.prefix):
        records = [record for record in page if record.key not in skip]
        found, problems = sources.collect(records)
        for violation in problems:
            print(violation)
            errors += 1
            failed_files.add(violation.file)
        for record in records:
            checked += 1
            metadata = found.get(record.object_url)
            for violation in validator.validate(metadata, file=record.object_url):
                print(violation)
                if violation.severity == "error":
                    errors += 1
                    failed_files.add(violation.file)
                else:
                    warnings += 1
    print(
        f"checked {checked} files against {args.schema}: {errors} errors in "
        f"{len(failed_files)} files, {warnings} warnings",
        file=sys.stderr,
    )
    return 1 if errors else 0
