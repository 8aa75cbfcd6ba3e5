"""moto's SQS for the events benchmark, in its own process, with a round trip and counts.

moto's server (the real SQS wire protocol, as in the tests) runs behind a WSGI wrapper that
waits `--latency-ms` before each request, like `s3_list_server.py` does for listings, and counts
requests by action (`AmazonSQS.ReceiveMessage`, ...). `GET /__stats` returns the counts as JSON.
Its own process, so moto's CPU is not charged to the client being measured (127.0.0.1 only).

One moto check is replaced: for every message it returns, moto computes all the queue's
attributes (counting every message in the queue three times) to read MessageRetentionPeriod,
so a ReceiveMessage of 10 from a queue of 100 spent ~70 ms of CPU, which would measure moto, not
the client. `_retained` makes the same comparison with the queue's retention period directly.

    python bench/sqs_server.py --latency-ms 50      (prints `READY <port>` when listening)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from moto.core.utils import unix_time
from moto.server import DomainDispatcherApplication, create_backend_app
from moto.sqs.models import Message, SQSBackend
from werkzeug.serving import make_server

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _retained(backend: SQSBackend, queue_name: str, message: Message) -> bool:
    retention = int(backend.get_queue(queue_name).message_retention_period)  # type: ignore[attr-defined]
    return retention + message.sent_timestamp / 1000 > unix_time()  # type: ignore[operator]


def counted(app: Wsgi, latency: float) -> Wsgi:
    counts: Counter[str] = Counter()
    lock = threading.Lock()

    def wrapper(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/__stats":
            with lock:
                body = json.dumps(dict(counts)).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        # boto3 speaks SQS's JSON protocol: the action is in X-Amz-Target.
        action = str(environ.get("HTTP_X_AMZ_TARGET", "other")).rpartition(".")[2]
        with lock:
            counts[action] += 1
        time.sleep(latency)
        return app(environ, start_response)

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    SQSBackend.is_message_valid_based_on_retention_period = _retained  # type: ignore[method-assign,assignment]
    app = counted(DomainDispatcherApplication(create_backend_app), args.latency_ms / 1000)
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    print(f"READY {server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
