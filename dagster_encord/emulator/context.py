"""What a route handler receives: the core, the parsed request and typed query accessors."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import QueryParams

from dagster_encord.emulator.core import EmulatorCore
from dagster_encord.emulator.state import EmulatorState
from dagster_encord.emulator.wire import ApiError

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


@dataclass
class Ctx:
    core: EmulatorCore
    method: str
    path: str
    body: bytes
    path_params: dict[str, str]
    query: QueryParams
    headers: dict[str, str]
    user: str = ""

    @property
    def state(self) -> EmulatorState:
        return self.core.state

    def url_signer(self) -> Callable[[str], str]:
        """Signs object URLs; links to objects the emulator serves use the Host it was asked on."""
        origin = f"http://{self.headers.get('host', '127.0.0.1')}"
        return lambda url: self.core.signer.sign(url, origin)

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError as error:
            raise ApiError(400, f"malformed JSON body: {error}") from None

    def json_object(self, allowed: set[str] | None = None) -> dict[str, Any]:
        body = self.json()
        if not isinstance(body, dict):
            raise ApiError(400, "request body must be a JSON object")
        if allowed is not None:
            for key in body:
                if key not in allowed:
                    raise ApiError(
                        400, f"unknown field '{key}' (allowed: {', '.join(sorted(allowed))})"
                    )
        return body

    def q_bool(self, name: str, default: bool | None = None) -> bool | None:
        raw = self.query.get(name)
        if raw is None:
            return default
        lowered = raw.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise ApiError(400, f"query parameter {name}={raw!r} is not a boolean")

    def q_int(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.query.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(400, f"query parameter {name}={raw!r} is not an integer") from None
        if not low <= value <= high:
            raise ApiError(400, f"query parameter {name}={value} must be between {low} and {high}")
        return value

    def q_list(self, name: str) -> list[str]:
        return self.query.getlist(name)

    def page(
        self, results: list[Any], render: Callable[[Any], Any] | None = None
    ) -> dict[str, Any]:
        """One page of `results` (rendered lazily) by offset token; the last page has no token."""
        size = self.q_int("pageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        token = self.query.get("pageToken") or "0"
        if not token.isdigit():
            raise ApiError(400, f"pageToken {token!r} is not a token this server issued")
        start = int(token)
        chunk = results[start : start + size]
        body: dict[str, Any] = {"results": [render(r) for r in chunk] if render else chunk}
        if start + size < len(results):
            body["nextPageToken"] = str(start + size)
        return body


Handler = Callable[[Ctx], Any]
AsyncHandler = Callable[[Ctx], Awaitable[Any]]
