"""A small, fast ListObjectsV2-compatible server for the listing benchmark (127.0.0.1 only).

It serves one bucket of synthetic keys, `prefix-PP/object-NNNNNNN.jpg`, spread evenly over
`--prefixes` prefixes, and answers `GET /BUCKET?list-type=2` with `prefix`, `delimiter=/`,
`max-keys`, `start-after` and `continuation-token`, like S3. Every request waits `--latency-ms`
first (S3's round trip). `GET /__stats` returns the request counts as JSON. moto is not used: it
spends ~400 ms of CPU per page, which would measure moto, not the client.

    python bench/s3_list_server.py --keys 100000 --prefixes 16 --latency-ms 50
    (prints `READY <port>` when listening)
"""

from __future__ import annotations

import argparse
import base64
import bisect
import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_LAST_MODIFIED = "2024-01-01T00:00:00.000Z"
_ENTRY = (
    "<Contents><Key>{key}</Key><LastModified>" + _LAST_MODIFIED + "</LastModified>"
    "<ETag>&quot;{etag:032x}&quot;</ETag><Size>{size}</Size>"
    "<StorageClass>STANDARD</StorageClass></Contents>"
)


class Bucket:
    """Sorted synthetic keys (ASCII, so no XML escaping is needed)."""

    def __init__(self, name: str, keys: int, prefixes: int) -> None:
        self.name = name
        per_prefix = -(-keys // prefixes)
        self.keys = sorted(
            f"prefix-{prefix:02d}/object-{number:07d}.jpg"
            for prefix in range(prefixes)
            for number in range(per_prefix)
            if prefix * per_prefix + number < keys
        )
        self.requests: dict[str, int] = {"list": 0, "list_delimited": 0, "other": 0}
        self.lock = threading.Lock()

    def count(self, kind: str) -> None:
        with self.lock:
            self.requests[kind] += 1

    def list_v2(self, query: dict[str, list[str]]) -> str:
        prefix = query.get("prefix", [""])[0]
        delimiter = query.get("delimiter", [""])[0]
        max_keys = min(int(query.get("max-keys", ["1000"])[0]), 1000)
        after = query.get("start-after", [""])[0]
        token = query.get("continuation-token", [""])[0]
        if token:
            after = max(after, base64.urlsafe_b64decode(token.encode()).decode())
        start = bisect.bisect_right(self.keys, after) if after else 0
        start = max(start, bisect.bisect_left(self.keys, prefix))
        contents: list[str] = []
        common: list[str] = []
        index = start
        last = ""
        while index < len(self.keys) and len(contents) + len(common) < max_keys:
            key = self.keys[index]
            if not key.startswith(prefix):
                break
            rest = key[len(prefix) :]
            if delimiter and delimiter in rest:
                group = prefix + rest[: rest.index(delimiter) + 1]
                common.append(group)
                index = bisect.bisect_left(self.keys, group + "\U0010ffff")
                last = group + "\U0010ffff"
                continue
            contents.append(_ENTRY.format(key=key, etag=index, size=1000 + index % 5000))
            last = key
            index += 1
        truncated = index < len(self.keys) and self.keys[index].startswith(prefix)
        parts = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
            f"<Name>{self.name}</Name><Prefix>{prefix}</Prefix>",
            f"<KeyCount>{len(contents) + len(common)}</KeyCount><MaxKeys>{max_keys}</MaxKeys>",
            f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>",
        ]
        if delimiter:
            parts.append(f"<Delimiter>{delimiter}</Delimiter>")
        if token:
            parts.append(f"<ContinuationToken>{token}</ContinuationToken>")
        if truncated:
            next_token = base64.urlsafe_b64encode(last.encode()).decode()
            parts.append(f"<NextContinuationToken>{next_token}</NextContinuationToken>")
        parts.extend(contents)
        parts.extend(
            f"<CommonPrefixes><Prefix>{group}</Prefix></CommonPrefixes>" for group in common
        )
        parts.append("</ListBucketResult>")
        return "".join(parts)


def make_handler(bucket: Bucket, latency: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/__stats":
                with bucket.lock:
                    self._send(200, json.dumps(bucket.requests), "application/json")
                return
            time.sleep(latency)
            query = parse_qs(url.query, keep_blank_values=True)
            if url.path.strip("/") == bucket.name and query.get("list-type") == ["2"]:
                bucket.count("list_delimited" if query.get("delimiter") else "list")
                self._send(200, bucket.list_v2(query), "application/xml")
                return
            bucket.count("other")
            body = (
                "<Error><Code>NoSuchBucket</Code><Message>not here</Message></Error>"
                if url.path.strip("/") != bucket.name
                else "<Error><Code>NotImplemented</Code><Message>list only</Message></Error>"
            )
            self._send(404 if "NoSuchBucket" in body else 501, body, "application/xml")

        def do_HEAD(self) -> None:
            time.sleep(latency)
            bucket.count("other")
            self.send_response(200 if self.path.strip("/") == bucket.name else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _send(self, status: int, body: str, content_type: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--bucket", default="bench")
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--prefixes", type=int, default=16)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    bucket = Bucket(args.bucket, args.keys, args.prefixes)
    server = ThreadingHTTPServer(
        ("127.0.0.1", args.port), make_handler(bucket, args.latency_ms / 1000)
    )
    server.daemon_threads = True
    print(f"READY {server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
