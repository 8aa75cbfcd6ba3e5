"""A small, fast ListObjectsV2-compatible server for the listing and events benchmarks
(127.0.0.1 only).

It serves one bucket of synthetic keys, `prefix-PP/object-NNNNNNN.jpg`, spread evenly over
`--prefixes` prefixes, and answers `GET /BUCKET?list-type=2` with `prefix`, `delimiter=/`,
`max-keys`, `start-after` and `continuation-token`, like S3. A key's ETag, size and LastModified
(a second within 2024) derive from the key itself, so they never change when keys are added.
`PUT /BUCKET/KEY` adds an object (its body's MD5 as ETag, the current second as LastModified),
so a benchmark can put new objects that later listings find. Every request waits
`--latency-ms` first (S3's round trip). `GET /__stats` returns the request counts as JSON.
moto is not used: it spends ~400 ms of CPU per page, which would measure moto, not the client.

    python bench/s3_list_server.py --keys 100000 --prefixes 16 --latency-ms 50
    (prints `READY <port>` when listening)
"""

from __future__ import annotations

import argparse
import base64
import bisect
import contextlib
import hashlib
import json
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

_YEAR_2024 = 1_704_067_200  # 2024-01-01T00:00:00Z
_SECONDS_IN_2024 = 366 * 86_400
_ENTRY = (
    "<Contents><Key>{key}</Key><LastModified>{modified}</LastModified>"
    "<ETag>&quot;{etag}&quot;</ETag><Size>{size}</Size>"
    "<StorageClass>STANDARD</StorageClass></Contents>"
)


def _timestamp(epoch_seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(epoch_seconds))


# Formatted once, so a page costs about what it did with one fixed timestamp.
_DAYS = [_timestamp(_YEAR_2024 + day * 86_400)[:11] for day in range(366)]
_SECONDS = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.000Z" for s in range(86_400)]


def synthetic_attributes(key: str) -> tuple[str, int, str]:
    """(etag, size, last modified) of a synthetic key: stable, whatever else is in the bucket."""
    digest = zlib.crc32(key.encode())
    day, second = divmod(digest % _SECONDS_IN_2024, 86_400)
    return f"{digest:032x}", 1000 + digest % 5000, _DAYS[day] + _SECONDS[second]


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
        self.put_objects: dict[str, tuple[str, int, str]] = {}  # key -> (etag, size, modified)
        self.requests: dict[str, int] = {"list": 0, "list_delimited": 0, "put": 0, "other": 0}
        self.lock = threading.Lock()

    def put(self, key: str, body: bytes) -> str:
        etag = hashlib.md5(body, usedforsecurity=False).hexdigest()
        with self.lock:
            if key not in self.put_objects:
                index = bisect.bisect_left(self.keys, key)
                if index == len(self.keys) or self.keys[index] != key:
                    self.keys.insert(index, key)
            self.put_objects[key] = (etag, len(body), _timestamp(int(time.time())))
        return etag

    def attributes(self, key: str) -> tuple[str, int, str]:
        put = self.put_objects.get(key)
        return put if put is not None else synthetic_attributes(key)

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
            etag, size, modified = self.attributes(key)
            contents.append(_ENTRY.format(key=key, etag=etag, size=size, modified=modified))
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

        def do_PUT(self) -> None:
            time.sleep(latency)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            name, _, key = unquote(urlsplit(self.path).path).lstrip("/").partition("/")
            if name != bucket.name or not key:
                bucket.count("other")
                self._send(501, "<Error><Code>NotImplemented</Code></Error>", "application/xml")
                return
            bucket.count("put")
            etag = bucket.put(key, body)
            self.send_response(200)
            self.send_header("ETag", f'"{etag}"')
            self.send_header("Content-Length", "0")
            self.end_headers()

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


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog (5) resets bursts of parallel connections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--bucket", default="bench")
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--prefixes", type=int, default=16)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    bucket = Bucket(args.bucket, args.keys, args.prefixes)
    server = Server(("127.0.0.1", args.port), make_handler(bucket, args.latency_ms / 1000))
    print(f"READY {server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
