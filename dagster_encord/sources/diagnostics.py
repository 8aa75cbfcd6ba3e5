"""Error messages every provider shares."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from dagster_encord.errors import EndpointUnreachableError, ObjectTooLargeError, SourceError

# `translate(where, key, error)` raises the package error for an SDK error it recognises.
Translate = Callable[[str, str | None, Exception], None]


def unreachable(where: str, endpoint: str, reason: str) -> EndpointUnreachableError:
    """`endpoint` did not answer while working on `where` (a bucket URL)."""
    return EndpointUnreachableError(
        f"cannot reach {endpoint} for {where} ({reason}): check --endpoint-url / the account or "
        "region, that the service (or emulator) is running, and the network"
    )


def check_size(where: str, size: int | None, max_bytes: int) -> None:
    """Refuse to read an object over `max_bytes` (a pattern that matched media, not a sidecar)."""
    if size is not None and size > max_bytes:
        raise ObjectTooLargeError(
            f"{where} is {size} bytes, over the {max_bytes}-byte limit for sidecar/mapping "
            "files: check the sidecar pattern, or pass a larger max_bytes"
        )


@contextmanager
def translated_errors(where: str, key: str | None, translate: Translate) -> Iterator[None]:
    """Map an SDK failure inside the block to the package's error via `translate`.

    Package errors pass through; an SDK error `translate` does not recognise propagates as is.
    """
    try:
        yield
    except SourceError:
        raise
    except Exception as error:
        translate(where, key, error)
        raise
