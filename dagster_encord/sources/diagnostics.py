"""Error messages every provider shares."""

from __future__ import annotations

from dagster_encord.errors import EndpointUnreachableError


def unreachable(where: str, endpoint: str, reason: str) -> EndpointUnreachableError:
    """`endpoint` did not answer while working on `where` (a bucket URL)."""
    return EndpointUnreachableError(
        f"cannot reach {endpoint} for {where} ({reason}): check --endpoint-url / the account or "
        "region, that the service (or emulator) is running, and the network"
    )
