"""GCS page tokens. gcp-storage-emulator ignores `maxResults`, `pageToken` and `startOffset`,
so every listing comes back as one response. To test the paged path honestly, a small proxy in
front of the emulator pages the emulator's real responses the way GCS does (`maxResults`,
`nextPageToken`, `startOffset`); the SDK and our source talk to it like to GCS."""

from __future__ import annotations

import base64
import json
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from dagster_encord.sources import open_source
from tests.sources.conftest import BIG_KEYS, seeded_rig
from tests.sources.rigs import Rig, all_records

_PAGING_PARAMS = {"maxResults", "pageToken", "startOffset"}


class PagingProxy:
    def __init__(self, emulator: str) -> None:
        self.emulator = emulator
        self.list_requests: list[dict[str, list[str]]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                upstream = {k: v for k, v in query.items() if k not in _PAGING_PARAMS}
                with urllib.request.urlopen(
                    f"{proxy.emulator}{url.path}?{urlencode(upstream, doseq=True)}", timeout=30
                ) as response:
                    status, body = response.status, json.loads(response.read())
                if url.path.endswith("/o") and "items" in body:
                    proxy.list_requests.append(query)
                    body = _page(body, query)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"


def _page(body: dict[str, list[dict[str, str]]], query: dict[str, list[str]]) -> dict[str, object]:
    items = sorted(body["items"], key=lambda item: item["name"])
    if "startOffset" in query:
        items = [item for item in items if item["name"] >= query["startOffset"][0]]
    start = int(base64.b64decode(query["pageToken"][0])) if "pageToken" in query else 0
    size = int(query.get("maxResults", ["1000"])[0])
    page: dict[str, object] = {"kind": "storage#objects", "items": items[start : start + size]}
    if start + size < len(items):
        page["nextPageToken"] = base64.b64encode(str(start + size).encode()).decode()
    return page


@pytest.fixture()
def paging_proxy(gcs_server: str) -> Iterator[PagingProxy]:
    proxy = PagingProxy(gcs_server)
    thread = threading.Thread(target=proxy.server.serve_forever, daemon=True)
    thread.start()
    yield proxy
    proxy.server.shutdown()
    proxy.server.server_close()


@pytest.fixture()
def gcs_seeded(request: pytest.FixtureRequest) -> Rig:
    return seeded_rig("gcs", request)


def test_gcs_listing_follows_page_tokens(gcs_seeded: Rig, paging_proxy: PagingProxy) -> None:
    source = open_source(gcs_seeded.url, endpoint_url=paging_proxy.endpoint)
    pages = list(source.list_pages(page_size=1000))
    assert [len(page) for page in pages] == [1000, 1000, 600]
    assert [record.key for page in pages for record in page] == BIG_KEYS
    assert len(paging_proxy.list_requests) == 3
    assert [q.get("maxResults") for q in paging_proxy.list_requests] == [["1000"]] * 3
    assert "pageToken" in paging_proxy.list_requests[1]


def test_gcs_start_after_uses_start_offset(gcs_seeded: Rig, paging_proxy: PagingProxy) -> None:
    source = open_source(gcs_seeded.url, endpoint_url=paging_proxy.endpoint)
    boundary = BIG_KEYS[1499]
    records = all_records(source, start_after=boundary, page_size=500)
    assert [record.key for record in records] == BIG_KEYS[1500:]
    assert paging_proxy.list_requests[0]["startOffset"] == [boundary]
    assert len(paging_proxy.list_requests) == 3  # 1,101 keys from the offset, 500 per page
