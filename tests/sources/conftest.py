"""Rig fixtures: `rig` is a fresh empty bucket per test; `big_rig` is one seeded bucket per
provider for the whole session (2,600 objects, put in parallel once)."""

from __future__ import annotations

import pytest

from tests.sources.rigs import RIG_NAMES, Rig, make_rig

BIG_PREFIXES = [f"p{index:02d}/" for index in range(8)]
BIG_KEYS = sorted(
    [f"{prefix}obj-{number:04d}.jpg" for prefix in BIG_PREFIXES for number in range(310)]
    + [f"p00/skip/obj-{number:04d}.jpg" for number in range(40)]
    + [f"root-{number:04d}.png" for number in range(80)]
)


@pytest.fixture(params=RIG_NAMES)
def rig(request: pytest.FixtureRequest) -> Rig:
    return make_rig(request.param, request)


_seeded: dict[str, Rig] = {}


@pytest.fixture(scope="session", params=RIG_NAMES)
def big_rig(request: pytest.FixtureRequest) -> Rig:
    return seeded_rig(request.param, request)


def seeded_rig(name: str, request: pytest.FixtureRequest) -> Rig:
    """The session's bucket holding BIG_KEYS on `name`'s provider (seeded on first use; both S3
    engines read the same bucket)."""
    provider = name.split("-")[0]
    if provider not in _seeded:
        seeded = make_rig(name, request)
        seeded.put_many(BIG_KEYS)
        _seeded[provider] = seeded
    base = _seeded[provider]
    options = dict(base.options)
    if provider == "s3":
        options["engine"] = name.split("-")[1]
    return Rig(
        name,
        base.url,
        base.put,
        options,
        base.second_precision,
        base.set_mtime,
        base.put_workers,
    )
