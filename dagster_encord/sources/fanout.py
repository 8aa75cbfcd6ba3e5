"""Bounded parallel listing over several prefixes.

Each prefix is listed by one worker thread at a time (at most `max_workers` at once); pages go
through a queue of `2 * max_workers` slots, so memory stays bounded however fast the workers are
and however slow the consumer is. Pages of one prefix arrive in key order; pages of different
prefixes interleave. Closing the generator early stops the workers.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

Page = TypeVar("Page")

_DONE = object()


def fan_out_pages(
    prefixes: Sequence[str],
    list_prefix: Callable[[str], Iterator[Page]],
    max_workers: int = 8,
) -> Iterator[Page]:
    """Yield the pages of `list_prefix(p)` for every p in `prefixes`, listing in parallel."""
    if max_workers < 1:
        raise ValueError(f"max_workers must be at least 1, got {max_workers}")
    if not prefixes:
        return
    if len(prefixes) == 1 or max_workers == 1:
        for prefix in prefixes:
            yield from list_prefix(prefix)
        return

    pending: queue.SimpleQueue[str] = queue.SimpleQueue()
    for prefix in prefixes:
        pending.put(prefix)
    results: queue.Queue[object] = queue.Queue(maxsize=2 * max_workers)
    stop = threading.Event()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                results.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def worker() -> None:
        try:
            while not stop.is_set():
                try:
                    prefix = pending.get_nowait()
                except queue.Empty:
                    break
                for page in list_prefix(prefix):
                    if not offer(page):
                        return
        except BaseException as error:  # handed to the consumer, which re-raises it
            offer(_Failure(error))
        finally:
            offer(_DONE)

    workers = [
        threading.Thread(target=worker, name=f"list-{index}", daemon=True)
        for index in range(min(max_workers, len(prefixes)))
    ]
    for thread in workers:
        thread.start()
    running = len(workers)
    try:
        while running:
            item = results.get()
            if item is _DONE:
                running -= 1
            elif isinstance(item, _Failure):
                raise item.error
            else:
                yield item  # type: ignore[misc]
    finally:
        stop.set()
        for thread in workers:
            thread.join(timeout=5)


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error
