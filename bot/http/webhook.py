"""``POST /alertmanager``: authenticate, validate, ingest in one transaction, then answer.

Status codes follow what Alertmanager does with them: 2xx is done; 5xx is retried
promptly (so a database outage answers 503, never 200-without-storing); any 4xx ends
the flush, so it is kept for input that can never be accepted.
"""

from __future__ import annotations

import structlog
from aiohttp import web
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.trace import Status, StatusCode
from opentelemetry.util.types import AttributeValue

from bot.domain.notification import PayloadError, parse_webhook_cached
from bot.http.json_errors import json_error
from bot.http.keys import INGESTOR, METRICS, SETTINGS, WEBHOOK_AUTH
from bot.incident.ingest import IngestResult
from bot.observability.tracing import request_span_or_own
from storage.errors import StorageError

log = structlog.get_logger(__name__)


async def handle_alertmanager(request: web.Request) -> web.Response:
    metrics = request.app[METRICS]
    rejection = await _reject(request)
    if rejection is not None:
        metrics.webhook_deliveries.labels(outcome="rejected").inc()
        return rejection
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:  # chunked bodies have no Content-Length to check first
        metrics.webhook_deliveries.labels(outcome="rejected").inc()
        return json_error(413, f"body exceeds the limit of {request.app[SETTINGS].webhook_max_bytes} bytes")
    try:
        notification = parse_webhook_cached(body)
    except PayloadError as exc:
        metrics.webhook_deliveries.labels(outcome="rejected").inc()
        log.warning("webhook rejected", reason=str(exc))
        return json_error(400 if not exc.field else 422, str(exc))

    structlog.contextvars.bind_contextvars(group_key=notification.group_key)
    with request_span_or_own("ingest alertmanager notification") as span:
        try:
            result = await request.app[INGESTOR].ingest(body, notification)
        except StorageError as exc:
            metrics.webhook_deliveries.labels(outcome="unavailable").inc()
            log.error("webhook not stored, asking Alertmanager to retry", error=type(exc).__name__, detail=str(exc))
            span.set_attribute(ERROR_TYPE, type(exc).__name__)
            span.set_status(Status(StatusCode.ERROR, "database unavailable"))
            return json_error(503, "database unavailable, retry later", headers={"Retry-After": "5"})
        if span.is_recording():
            span.set_attributes(_decided(result))

    metrics.webhook_deliveries.labels(outcome=result.outcome.value).inc()
    metrics.webhook_alerts.inc(len(notification.alerts))
    log.info("webhook stored", outcome=result.outcome.value, incident_id=result.incident_id,
             alerts=len(notification.alerts), reason=result.reason)
    return web.json_response({"outcome": result.outcome.value, "incident": result.incident_id})


def _decided(result: IngestResult) -> dict[str, AttributeValue]:
    """What the delivery's span records of its transaction: the outcome, and the incident and
    playbook route it went to, if any."""
    attributes: dict[str, AttributeValue] = {"incident_bot.outcome": result.outcome.value}
    if result.incident_id is not None:
        attributes["incident_bot.incident.id"] = result.incident_id
    if result.route is not None:
        attributes["incident_bot.route"] = result.route
    return attributes


async def _reject(request: web.Request) -> web.Response | None:
    """Everything that is wrong before the body is parsed: auth, type and size."""
    auth = request.app[WEBHOOK_AUTH]
    problem = auth.check(request.headers.get("Authorization"))
    if problem is not None:
        log.warning("webhook refused", reason=auth.not_configured_reason if not auth.configured else problem)
        return json_error(401, problem, headers={"WWW-Authenticate": 'Bearer realm="alertmanager"'})
    if request.content_type != "application/json":
        return json_error(415, f"Content-Type must be application/json, got {request.content_type or 'none'}")
    limit = request.app[SETTINGS].webhook_max_bytes
    if request.content_length is not None and request.content_length > limit:
        return json_error(413, f"body is {request.content_length} bytes, the limit is {limit}")
    return None
