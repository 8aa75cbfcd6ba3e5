"""The ASGI application: Starlette routes wrapped with counting, faults, auth and error mapping.

v2 errors are HTTP statuses with `{"message": ...}`; legacy RPC errors travel inside the HTTP 200
envelope `{"status": 4xx, "response": ["CODE"], "payload": ...}` as the SDK expects.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import defaultdict
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from dagster_encord.emulator import (
    routes_control,
    routes_items,
    routes_jobs,
    routes_labels,
    routes_legacy,
    routes_metadata,
    routes_projects,
    routes_storage,
    routes_workflow,
    signing,
    view,
)
from dagster_encord.emulator.auth import AuthFailure
from dagster_encord.emulator.context import Ctx
from dagster_encord.emulator.core import EmulatorCore
from dagster_encord.emulator.faults import HttpFault
from dagster_encord.emulator.wire import ApiError, json_response

logger = logging.getLogger("dagster_encord.emulator")
LEGACY_HANDLERS = {**routes_legacy.HANDLERS, **routes_labels.HANDLERS}
V2_ROUTES = (
    routes_storage.ROUTES
    + routes_items.ROUTES
    + routes_jobs.ROUTES
    + routes_metadata.ROUTES
    + routes_projects.ROUTES
    + routes_workflow.ROUTES
)


class DroppedResponse(Response):
    """Starts a response and then cuts the connection, as a failing proxy would."""

    def __init__(self) -> None:
        super().__init__()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"results": [', "more_body": True})
        raise ConnectionAbortedError("injected dropped connection")


def _raw_target(scope: Scope) -> str:
    target = scope.get("raw_path") or scope["path"].encode()
    if scope.get("query_string"):
        target += b"?" + scope["query_string"]
    return target.decode("latin-1")


def _fault_response(fault: HttpFault, legacy: bool) -> Response:
    if fault.drop:
        return DroppedResponse()
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
    if legacy and fault.status not in (413, 429):
        # A gateway error in front of the RPC endpoint: not JSON, like Encord's load balancer.
        return Response(
            f"<html>{fault.status} {fault.message}</html>", fault.status, headers, "text/html"
        )
    return json_response({"message": fault.message}, fault.status, headers)


async def _pre(
    core: EmulatorCore, request: Request, endpoint: str, legacy: bool
) -> Response | None:
    """Count the request and apply latency and HTTP faults; a Response means stop here."""
    core.counters.hit(endpoint)
    method, path = request.method, request.url.path
    delay = core.faults.delay_for(method, path, endpoint)
    if delay:
        await asyncio.sleep(delay)
    fault = core.faults.take_http(method, path, endpoint)
    return _fault_response(fault, legacy) if fault is not None else None


async def _call(handler: Any, ctx: Ctx) -> Any:
    if inspect.iscoroutinefunction(handler):
        return await handler(ctx)
    return await run_in_threadpool(handler, ctx)


def v2_endpoint(core: EmulatorCore, method: str, template: str, handler: Any) -> Any:
    endpoint = f"{method} {template}"

    async def run(request: Request) -> Response:
        body = await request.body()
        stop = await _pre(core, request, endpoint, legacy=False)
        if stop is not None:
            return stop
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            user = core.keys.verify_v2(method, _raw_target(request.scope), headers, body)
        except AuthFailure as failure:
            return json_response({"message": f"Authentication failed: {failure}"}, 401)
        ctx = Ctx(
            core,
            method,
            request.url.path,
            body,
            dict(request.path_params),
            request.query_params,
            headers,
            user,
        )
        try:
            result = await _call(handler, ctx)
        except ApiError as error:
            return json_response({"message": error.message}, error.status)
        except Exception:
            logger.exception("emulator handler %s failed", endpoint)
            return json_response({"message": f"internal emulator error in {endpoint}"}, 500)
        return json_response(result)  # "void" endpoints answer {}: the SDK parses every 200

    return run


def legacy_endpoint(core: EmulatorCore, scope_name: str) -> Any:
    async def run(request: Request) -> Response:
        body = await request.body()
        try:
            envelope = orjson.loads(body)
            query_type, query_method = envelope["query_type"], envelope["query_method"]
            values = envelope.get("values") or {}
        except (orjson.JSONDecodeError, KeyError, TypeError):
            envelope, query_type, query_method, values = None, "malformed", "POST", {}
        endpoint = f"legacy {query_type}.{query_method}"
        stop = await _pre(core, request, endpoint, legacy=True)
        if stop is not None:
            return stop
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            user = core.keys.verify_legacy(headers.get("authorization"), body)
        except AuthFailure as failure:
            return json_response(
                {"status": 401, "response": ["AUTHENTICATION_ERROR"], "payload": str(failure)}
            )
        if envelope is None:
            message = "body must be {query_type, query_method, values}"
            return json_response(
                {"status": 400, "response": ["INVALID_ARGUMENTS_ERROR"], "payload": message}
            )
        handler = LEGACY_HANDLERS.get((scope_name, query_type, query_method))
        if handler is None:
            message = f"{query_type} {query_method} is not supported by the emulator"
            return json_response(
                {"status": 405, "response": ["METHOD_NOT_ALLOWED_ERROR"], "payload": message}
            )
        ctx = Ctx(core, "POST", request.url.path, body, {}, request.query_params, headers, user)
        try:
            result = await run_in_threadpool(handler, ctx, values)
        except ApiError as error:
            return json_response(
                {"status": error.status, "response": [error.legacy_code], "payload": error.message}
            )
        except Exception:
            logger.exception("emulator legacy handler %s failed", endpoint)
            return json_response(
                {"status": 500, "response": ["UNKNOWN_ERROR"], "payload": endpoint}
            )
        return json_response({"status": 200, "response": result})

    return run


ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")


def unrouted_endpoint(core: EmulatorCore) -> Any:
    """Anything the emulator does not serve: counted by path, answered 404 (the SDK's
    ResourceNotFoundError), so an SDK call the emulator lacks is easy to spot in the counters."""

    async def run(request: Request) -> Response:
        core.counters.hit(f"unrouted {request.method} {request.url.path}")
        message = f"the Encord emulator does not serve {request.method} {request.url.path}"
        return json_response({"message": message}, 404)

    return run


def build_app(core: EmulatorCore) -> Starlette:
    by_path: dict[str, dict[str, Any]] = defaultdict(dict)
    for method, template, handler in V2_ROUTES:
        by_path[template][method] = handler
    routes: list[Route] = []
    for template, handlers in by_path.items():
        for method, handler in handlers.items():
            routes.append(
                Route(template, v2_endpoint(core, method, template, handler), methods=[method])
            )
    routes.append(Route("/public", legacy_endpoint(core, "resource"), methods=["POST"]))
    routes.append(Route("/public/user", legacy_endpoint(core, "user"), methods=["POST"]))
    routes.extend(routes_control.routes(core))
    routes.extend(view.routes(core))
    routes.extend(signing.routes(core.signer, core.counters.hit))
    routes.append(Route("/{path:path}", unrouted_endpoint(core), methods=list(ALL_METHODS)))
    return Starlette(routes=routes)
