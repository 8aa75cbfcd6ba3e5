"""`dagster-encord validate-metadata SOURCE_URL|PIPELINE.yaml [--schema FILE]`: check every
object's clientMetadata against a declared schema without sending anything. Prints every
violation, one per line, and exits 1 when any is an error (warnings alone exit 0).

Metadata is taken from sidecar JSON files (default `a.jpg.json`), a mapping file in the bucket,
and/or regex named groups on the path, merged in that order. Given the pipeline's file, the
source, the schema and these providers come from its `source:` and `metadata:` sections; flags
given on the command line override them.
"""

from __future__ import annotations

import argparse
import sys

from dagster_encord.commands.pipeline_arg import pipeline_file
from dagster_encord.commands.source_args import add_source_arguments, source_options
from dagster_encord.config import PipelineConfig
from dagster_encord.credentials import resolve_env_options
from dagster_encord.errors import ConfigError
from dagster_encord.metadata.providers import ProviderSettings
from dagster_encord.metadata.schema import load_schema
from dagster_encord.metadata.sources import sidecar_key
from dagster_encord.metadata.validate import MetadataValidator


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source_url",
        metavar="SOURCE_URL|PIPELINE.yaml",
        help="s3://, gs://, az:// or file://, or a pipeline file (source, schema, providers)",
    )
    parser.add_argument(
        "--schema", metavar="FILE", help="declared schema (YAML); default: the pipeline's"
    )
    parser.add_argument("--prefix", help="only objects under this key prefix")
    parser.add_argument(
        "--sidecar",
        choices=("append", "replace", "none"),
        help="sidecar naming: a.jpg.json (append, default), a.json (replace), or none",
    )
    parser.add_argument("--sidecar-suffix", help="sidecar suffix (.json)")
    parser.add_argument("--mapping", metavar="KEY", help="mapping file (CSV/JSONL/Parquet) key")
    parser.add_argument("--mapping-key-column", help="column with the object key or URL (key)")
    parser.add_argument("--path-regex", metavar="REGEX", help="named groups become metadata")
    parser.add_argument(
        "--unknown-keys",
        choices=("allow", "warn", "reject"),
        help="override the schema's policy for undeclared keys",
    )
    add_source_arguments(parser)


def _provider_settings(
    args: argparse.Namespace, pipeline: PipelineConfig | None
) -> ProviderSettings:
    """The pipeline's `metadata:` section (if any), then the flags given on the command line."""
    section = pipeline.metadata if pipeline is not None else None
    base = (
        ProviderSettings(
            sidecar=section.sidecar,
            sidecar_suffix=section.sidecar_suffix,
            mapping=section.mapping,
            mapping_key_column=section.mapping_key_column,
            path_regex=section.path_regex,
        )
        if section is not None
        else ProviderSettings()
    )
    return ProviderSettings(
        sidecar=args.sidecar or base.sidecar,
        sidecar_suffix=args.sidecar_suffix or base.sidecar_suffix,
        mapping=args.mapping or base.mapping,
        mapping_key_column=args.mapping_key_column or base.mapping_key_column,
        path_regex=args.path_regex or base.path_regex,
    )


def run(args: argparse.Namespace) -> int:
    from dagster_encord.sources.registry import open_source

    pipeline = pipeline_file(args.source_url)
    schema_file = args.schema
    if schema_file is None and pipeline is not None and pipeline.metadata is not None:
        schema_file = pipeline.metadata.schema_file
    if schema_file is None:
        raise ConfigError(
            "validate-metadata: no schema; pass --schema FILE or a pipeline file whose "
            "metadata: section names one"
        )
    schema = load_schema(schema_file)
    validator = MetadataValidator(schema, unknown_keys=args.unknown_keys)
    if pipeline is not None:
        options = resolve_env_options(pipeline.source.options, "source.options")
        source = open_source(pipeline.source.url, **{**options, **source_options(args)})
        prefix = pipeline.source.prefix if args.prefix is None else args.prefix
        include, exclude = tuple(pipeline.source.include), tuple(pipeline.source.exclude)
    else:
        source = open_source(args.source_url, **source_options(args))
        prefix, include, exclude = args.prefix or "", (), ()

    # First pass: every key, so sidecars are read only where they exist.
    all_keys: set[str] = set()
    for page in source.list_pages(prefix):
        all_keys.update(record.key for record in page)
    settings = _provider_settings(args, pipeline)
    sources = settings.build(source, schema, known_keys=frozenset(all_keys))

    # Sidecars of listed objects and the mapping file are metadata, not data.
    skip = {settings.mapping} if settings.mapping else set()
    if settings.sidecar != "none":
        skip |= {
            sidecar_key(key, naming=settings.sidecar, suffix=settings.sidecar_suffix)
            for key in all_keys
            if not key.endswith(settings.sidecar_suffix)
        }
    checked = errors = warnings = 0
    failed_files: set[str] = set()
    for page in source.list_pages(prefix, include=include, exclude=exclude):
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
        f"checked {checked} files against {schema_file}: {errors} errors in "
        f"{len(failed_files)} files, {warnings} warnings",
        file=sys.stderr,
    )
    return 1 if errors else 0
