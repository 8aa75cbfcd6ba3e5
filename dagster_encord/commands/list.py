"""`dagster-encord list SOURCE_URL`: stream a bucket listing, one record per line.

With `--jsonl` each line is an `ObjectRecord` as JSON; otherwise `size  last_modified  key`.
Pages are written and flushed as they arrive, so a million-key bucket streams in constant memory.
On a terminal, a progress counter runs on stderr; pipes and files get none.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from dagster_encord.commands.source_args import add_source_arguments, source_options
from dagster_encord.errors import SourceError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source_url",
        metavar="SOURCE_URL",
        help="s3://, gs://, az://, https://ACCOUNT.blob.core.windows.net/... or file:///",
    )
    parser.add_argument("--jsonl", action="store_true", help="print one JSON record per line")
    # Shorthands for source options this command has always taken.
    source = add_source_arguments(parser)
    source.add_argument("--region", help="S3 region (default: from the AWS config, else us-east-1)")
    source.add_argument("--profile", help="AWS profile name")
    source.add_argument("--credentials-file", help="GCP service-account JSON file")
    source.add_argument(
        "--url-style", help="object URL style (s3: virtual|path|s3|mrap; gs: cloud|public|gs)"
    )
    source.add_argument("--engine", choices=["auto", "obstore", "boto3"], help="S3 listing engine")
    parser.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="GLOB",
        help="keep keys matching (repeatable)",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="drop keys matching (repeatable)",
    )
    parser.add_argument("--start-after", metavar="KEY", help="only keys after KEY")
    parser.add_argument(
        "--modified-since", metavar="ISO8601", help="only objects modified at or after this time"
    )
    parser.add_argument("--fan-out", metavar="auto|P1,P2", help="list sub-prefixes in parallel")
    parser.add_argument(
        "--max-workers", type=int, default=8, help="parallel listings with --fan-out"
    )
    parser.add_argument("--page-size", type=int, default=1000)


def run(args: argparse.Namespace) -> int:
    from dagster_encord.sources import open_source

    options = source_options(
        args,
        region=args.region,
        profile=args.profile,
        credentials_file=args.credentials_file,
        url_style=args.url_style,
        engine=args.engine,
    )
    source = open_source(args.source_url, **options)
    pages = source.list_pages(
        include=args.include,
        exclude=args.exclude,
        start_after=args.start_after,
        modified_since=_parse_time(args.modified_since),
        fan_out=_parse_fan_out(args.fan_out),
        page_size=args.page_size,
        max_workers=args.max_workers,
    )
    progress = _progress(args.source_url)
    count = total_bytes = 0
    try:
        for page in pages:
            lines = [
                json.dumps(record.to_json_dict(), ensure_ascii=False)
                if args.jsonl
                else f"{record.size:>12}  {record.last_modified:%Y-%m-%d %H:%M:%S}  {record.key}"
                for record in page
            ]
            sys.stdout.write("\n".join(lines) + "\n")
            sys.stdout.flush()
            count += len(page)
            total_bytes += sum(record.size for record in page)
            if progress is not None:
                progress.update(len(page))
    except BrokenPipeError:
        sys.stderr.close()  # `| head`: the reader left; nothing more to say
        return 0
    finally:
        if progress is not None:
            progress.close()
    if sys.stderr.isatty():
        print(f"{count} objects, {total_bytes} bytes", file=sys.stderr)
    return 0


def _progress(url: str) -> Any:
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(desc=f"listing {url}", unit=" objects", file=sys.stderr, leave=False)


def _parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SourceError(
            f"--modified-since {text!r} is not an ISO 8601 time: use e.g. 2024-03-12T08:00:00Z"
        ) from None


def _parse_fan_out(text: str | None) -> Any:
    if text is None or text == "auto":
        return text
    return [prefix for prefix in text.split(",") if prefix]
