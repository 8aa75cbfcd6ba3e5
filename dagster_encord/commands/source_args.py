"""The source flags every command that opens a bucket takes: `--endpoint-url` and `--source-option`.

`add_source_arguments(parser)` adds them; `source_options(args)` turns them into the keyword
options of `open_source(url, **options)`. `--endpoint-url URL` is shorthand for
`--source-option endpoint_url=URL`.
"""

from __future__ import annotations

import argparse

from dagster_encord.errors import SourceError

_EXAMPLE = "endpoint_url=http://127.0.0.1:9000"


def add_source_arguments(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """Adds the flags under "source options"; returns the group for a command's own shorthands."""
    group = parser.add_argument_group("source options")
    group.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="storage endpoint (emulators, MinIO, OTC); same as --source-option endpoint_url=URL",
    )
    group.add_argument(
        "--source-option",
        action="append",
        default=[],
        type=_key_value,
        metavar="KEY=VALUE",
        help=f"option for the source, e.g. {_EXAMPLE}, region=eu-west-1, profile=NAME "
        "(see open_source for each provider's options); repeatable",
    )
    return group


def _key_value(text: str) -> tuple[str, str]:
    """argparse `type`: a bad value becomes a usage error (exit 2), not a traceback."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. {_EXAMPLE}), got {text!r}")
    return key.strip(), value


def source_options(args: argparse.Namespace, **shorthands: str | None) -> dict[str, str]:
    """`open_source` options from the flags; `shorthands` are a command's own flags for options.

    The same option given twice with different values is an error naming both.
    """
    options: dict[str, str] = {}
    given_by: dict[str, str] = {}

    def put(key: str, value: str, flag: str) -> None:
        if key in options and options[key] != value:
            raise SourceError(
                f"{flag} and {given_by[key]} both set the source option {key!r} "
                f"({value!r} and {options[key]!r}): give it once"
            )
        options[key], given_by[key] = value, flag

    for key, value in args.source_option:
        put(key, value, f"--source-option {key}=…")
    for key, value in {"endpoint_url": args.endpoint_url, **shorthands}.items():
        if value is not None:
            put(key, value, f"--{key.replace('_', '-')}")
    return options
