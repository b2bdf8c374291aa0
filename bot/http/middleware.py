"""Request ids, RED metrics and JSON errors for every endpoint."""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from bot.http.json_errors import json_error
from bot.http.keys import METRICS
from bot.observability.tracing import current_exemplar

log = structlog.get_logger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def route_template(request: web.Request) -> str | None:
    """The matched route's template (``/incidents/{incident_id}``), never the raw path, so ids
    do not explode a label's or a span name's cardinality; None when no route matched."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else None


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = request.headers.get("X-Request-Id") or _new_request_id()
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    started = time.perf_counter()
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        # Keep headers such as a 405's Allow; the body (and so its type) is ours.
        kept = {name: value for name, value in exc.headers.items() if name.lower() != "content-type"}
        response = json_error(exc.status, _http_error_text(exc), headers=kept)
    except Exception:
        log.exception("unhandled error", path=request.path)
        response = json_error(500, "internal error; the bot logged the details")
    metrics = request.app[METRICS]
    endpoint = route_template(request) or "unmatched"
    metrics.http_requests.labels(endpoint, request.method, str(response.status)).inc()
    metrics.http_latency.labels(endpoint, request.method).observe(time.perf_counter() - started, current_exemplar())
    response.headers["X-Request-Id"] = request_id
    return response


def _new_request_id() -> str:
    """16 hex digits to find a request's log lines by. Not a secret, so not from the OS's
    random source: ``uuid4`` makes a system call for it on every request, which lets go of
    the interpreter lock and must wait to take it back from the SQLite writer thread."""
    return f"{random.getrandbits(64):016x}"


def _http_error_text(exc: web.HTTPException) -> str:
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return "body too large"
    if isinstance(exc, web.HTTPNotFound):
        return "no such endpoint"
    if isinstance(exc, web.HTTPMethodNotAllowed):
        return f"method {exc.method} not allowed here; use {', '.join(sorted(exc.allowed_methods))}"
    return exc.reason
