"""The control API under `/__emulator/`: what a test does through the Python API, over HTTP.

Unauthenticated (the emulator binds to 127.0.0.1 only). JSON in, JSON out:
  GET    /__emulator/state                      counts, integrations, duplicate items
  POST   /__emulator/reset                      forget data, faults and counters, back to real
                                                time (keys stay)
  GET    /__emulator/clock                      {"frozenAt": ISO or null, "now": ISO}
  POST   /__emulator/clock                      {"frozenAt"?: ISO or null (null = real time),
                                                 "advanceSeconds"?: n (a frozen clock moves on)}
  GET    /__emulator/counters                   {"endpoint": count}; DELETE resets them
  POST   /__emulator/keys                       {"publicKey", "user"?} -> {"keyId"}
  POST   /__emulator/keys/generate              {"user"?} -> {"privateKey"} (registered)
  POST   /__emulator/tokens                     {"token"?, "user"?} -> {"token"}
  POST   /__emulator/integrations               {"title", "provider"?} -> {"uuid"}
  GET    /__emulator/workflow-templates         every workflow template (the built-in one first)
  POST   /__emulator/workflow-templates         {"title", "stages": [{"title", "stageType",
                                                 "uuid"?}]} -> {"uuid"}
  GET    /__emulator/folders                    every folder with its item count
  GET    /__emulator/folders/{uuid}/items       every item of a folder (uuid, name, url, metadata)
  GET    /__emulator/faults                     the active faults; DELETE clears them
  POST   /__emulator/faults/http                {"method", "path", "status", "count",
                                                 "retryAfter"?, "message"?}
  POST   /__emulator/faults/drop                {"method", "path", "count"}
  POST   /__emulator/faults/latency             {"seconds", "method"?, "path"?}
  POST   /__emulator/faults/urls                {"url", "error"?, "attempts"?} (null = permanent)
  POST   /__emulator/faults/stall               {"count"}: the next N upload jobs stay PENDING
  POST   /__emulator/faults/release             releases stalled jobs -> {"released"}
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dagster_encord.emulator.core import EmulatorCore
from dagster_encord.emulator.faults import HttpFault, Latency
from dagster_encord.emulator.wire import json_response

PREFIX = "/__emulator"


def _endpoint(
    action: Callable[[dict[str, Any], dict[str, str]], Any],
) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        raw = await request.body()
        try:
            body = orjson.loads(raw) if raw else {}
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            return json_response(action(body, dict(request.path_params)))
        except (ValueError, KeyError, TypeError) as error:
            return json_response({"message": f"bad control request: {error}"}, 400)

    return run


def routes(core: EmulatorCore) -> list[Route]:
    state = core.state

    def folders(_: dict[str, Any], __: dict[str, str]) -> list[dict[str, Any]]:
        with state.lock:
            return [
                {
                    "uuid": f.uuid,
                    "name": f.name,
                    "parent": f.parent,
                    "items": len(state.folder_items.get(f.uuid, {})),
                }
                for f in state.folders.values()
            ]

    def folder_items(_: dict[str, Any], params: dict[str, str]) -> list[dict[str, Any]]:
        with state.lock:
            return [
                {
                    "uuid": i.uuid,
                    "name": i.name,
                    "itemType": i.item_type,
                    "url": i.url,
                    "clientMetadata": i.client_metadata,
                }
                for i in (state.items[u] for u in state.folder_items.get(params["uuid"], {}))
            ]

    def http_fault(body: dict[str, Any], _: dict[str, str]) -> dict[str, Any]:
        core.faults.add_http(
            HttpFault(
                method=body.get("method", "*"),
                path=body.get("path", "*"),
                status=int(body.get("status", 500)),
                remaining=int(body.get("count", 1)),
                retry_after=body.get("retryAfter"),
                message=body.get("message", "injected fault"),
            )
        )
        return core.faults.describe()

    def drop_fault(body: dict[str, Any], _: dict[str, str]) -> dict[str, Any]:
        core.faults.add_http(
            HttpFault(
                method=body.get("method", "*"),
                path=body.get("path", "*"),
                remaining=int(body.get("count", 1)),
                drop=True,
            )
        )
        return core.faults.describe()

    def latency(body: dict[str, Any], _: dict[str, str]) -> dict[str, Any]:
        core.faults.add_latency(
            Latency(float(body["seconds"]), body.get("method", "*"), body.get("path", "*"))
        )
        return core.faults.describe()

    def url_fault(body: dict[str, Any], _: dict[str, str]) -> dict[str, Any]:
        attempts = body.get("attempts")
        core.faults.fail_url(
            str(body["url"]),
            body.get("error", "File not found"),
            None if attempts is None else int(attempts),
        )
        return core.faults.describe()

    def stall(body: dict[str, Any], _: dict[str, str]) -> dict[str, Any]:
        core.faults.add_stalls(int(body.get("count", 1)))
        return core.faults.describe()

    def clear_counters(_: dict[str, Any], __: dict[str, str]) -> dict[str, Any]:
        core.counters.reset()
        return {}

    def clear_faults(_: dict[str, Any], __: dict[str, str]) -> dict[str, Any]:
        core.faults.clear()
        return {}

    def reset(_: dict[str, Any], __: dict[str, str]) -> dict[str, Any]:
        core.reset()
        return {}

    def set_clock(body: dict[str, Any], _: dict[str, str]) -> dict[str, Any]:
        unknown = set(body) - {"frozenAt", "advanceSeconds"}
        if unknown:
            raise ValueError(
                f"unknown clock fields {sorted(unknown)}; use frozenAt, advanceSeconds"
            )
        if body.get("frozenAt") is not None:  # first, so one request can freeze and advance
            state.clock.freeze(str(body["frozenAt"]))
        elif "frozenAt" in body:
            state.clock.unfreeze()
        if "advanceSeconds" in body:
            state.clock.advance(float(body["advanceSeconds"]))
        return state.clock.describe()

    table: list[tuple[str, str, Callable[[dict[str, Any], dict[str, str]], Any]]] = [
        ("GET", "/state", lambda _, __: core.describe()),
        ("POST", "/reset", reset),
        ("GET", "/clock", lambda _, __: state.clock.describe()),
        ("POST", "/clock", set_clock),
        ("GET", "/counters", lambda _, __: core.counters.snapshot()),
        ("DELETE", "/counters", clear_counters),
        (
            "POST",
            "/keys",
            lambda b, _: {
                "keyId": core.add_public_key(b["publicKey"], b.get("user", "user@example.com"))
            },
        ),
        (
            "POST",
            "/keys/generate",
            lambda b, _: {"privateKey": core.new_ssh_key(b.get("user", "user@example.com"))},
        ),
        (
            "POST",
            "/tokens",
            lambda b, _: {
                "token": core.add_token(b.get("token"), b.get("user", "user@example.com"))
            },
        ),
        (
            "POST",
            "/integrations",
            lambda b, _: {"uuid": core.add_integration(b["title"], b.get("provider", "s3"))},
        ),
        ("GET", "/workflow-templates", lambda _, __: core.workflow_templates()),
        (
            "POST",
            "/workflow-templates",
            lambda b, _: {"uuid": core.add_workflow_template(b["title"], b["stages"])},
        ),
        ("GET", "/folders", folders),
        ("GET", "/folders/{uuid}/items", folder_items),
        ("GET", "/faults", lambda _, __: core.faults.describe()),
        ("DELETE", "/faults", clear_faults),
        ("POST", "/faults/http", http_fault),
        ("POST", "/faults/drop", drop_fault),
        ("POST", "/faults/latency", latency),
        ("POST", "/faults/urls", url_fault),
        ("POST", "/faults/stall", stall),
        ("POST", "/faults/release", lambda _, __: {"released": core.jobs.release_stalled()}),
    ]
    return [
        Route(PREFIX + path, _endpoint(action), methods=[method]) for method, path, action in table
    ]
