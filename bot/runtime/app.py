"""The aiohttp application factory and the lifetimes of its resources."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware
from opentelemetry import trace

from bot import __version__
from bot.clock import Clock, utcnow
from bot.http import api, followups_api, ops, webhook
from bot.http.auth import WebhookAuth
from bot.http.keys import CLOCK, DATABASE, INGESTOR, METRICS, PLAYBOOKS, SCHEDULER, SETTINGS, WEBHOOK_AUTH
from bot.http.middleware import observe
from bot.observability.metrics import Metrics
from bot.observability.tracing import HTTP_TRACER_NAME, Tracing, start_tracing, untraced_paths
from bot.playbook import PlaybookSet, load_playbooks
from bot.runtime.services import Services, running_services
from bot.runtime.slack_events import BOLT, handle_slack_events
from bot.settings import Settings
from bot.web.gate import workspace_guard
from bot.web.keys import WORKSPACE, WORKSPACE_OFF
from bot.web.routes import add_workspace_routes

log = structlog.get_logger(__name__)
SERVICES = web.AppKey("services", Services)
TRACING = web.AppKey("tracing", Tracing)


def create_app(settings: Settings, *, playbooks: PlaybookSet | None = None, clock: Clock = utcnow) -> web.Application:
    """Build the application. Nothing connects until the app starts (see ``cleanup_ctx``)."""
    loaded = playbooks if playbooks is not None else load_playbooks(settings.playbooks_dir)
    tracing = start_tracing(__version__)  # only when the OTEL_* environment asks for it; before the app is made
    middlewares: list[Middleware] = [observe, workspace_guard]
    if tracing is not None and tracing.server_spans:  # first: the request's span holds all the rest
        from bot.http.server_spans import server_spans  # the semantic conventions: only when tracing

        middlewares.insert(0, server_spans(trace.get_tracer(HTTP_TRACER_NAME), untraced_paths()))
    app = web.Application(middlewares=middlewares, client_max_size=settings.webhook_max_bytes)
    app[SETTINGS] = settings
    app[PLAYBOOKS] = loaded
    app[METRICS] = Metrics()
    app[CLOCK] = clock
    if tracing is not None:
        app[TRACING] = tracing
    app[WEBHOOK_AUTH] = WebhookAuth(
        token=settings.alertmanager_webhook_token,
        user=settings.alertmanager_webhook_user,
        password=settings.alertmanager_webhook_password,
    )
    if not app[WEBHOOK_AUTH].configured:
        log.warning(app[WEBHOOK_AUTH].not_configured_reason)
    if tracing is not None:
        app.cleanup_ctx.append(_traced(tracing))  # first in, so it flushes last
    app.cleanup_ctx.append(_services(loaded, clock))
    app.on_shutdown.append(_stop_claiming)
    app.router.add_post("/alertmanager", webhook.handle_alertmanager)
    app.router.add_post("/slack/events", handle_slack_events)
    app.router.add_get("/healthz", ops.healthz)
    app.router.add_get("/readyz", ops.readyz)
    app.router.add_get("/metrics", ops.metrics)
    app.router.add_get("/incidents", api.list_incidents)
    app.router.add_get("/incidents/{incident_id}", api.get_incident)
    app.router.add_get("/incidents/{incident_id}/postmortem.md", api.get_postmortem)
    app.router.add_get("/incidents/{incident_id}/followups", followups_api.incident_followups)
    app.router.add_get("/followups", followups_api.list_followups)
    add_workspace_routes(app)
    return app


def _services(playbooks: PlaybookSet, clock: Clock) -> Callable[[web.Application], AsyncIterator[None]]:
    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        async with running_services(app[SETTINGS], playbooks, clock, app[METRICS]) as services:
            app[SERVICES] = services
            if (tracing := app.get(TRACING)) is not None:
                tracing.instrument_database(services.db.engines)
            app[DATABASE] = services.db
            app[INGESTOR] = services.ingestor
            app[SCHEDULER] = services.scheduler
            if services.bolt is not None:
                app[BOLT] = services.bolt
            if services.workspace is not None:
                app[WORKSPACE] = services.workspace
            else:
                app[WORKSPACE_OFF] = services.workspace_off or ""
            yield

    return lifetime


def _traced(tracing: Tracing) -> Callable[[web.Application], AsyncIterator[None]]:
    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        yield
        tracing.shutdown()  # the spans of the last actions delivered at shutdown are exported

    return lifetime


async def _stop_claiming(app: web.Application) -> None:
    """on_shutdown runs as soon as the server stops listening (SIGTERM), before the requests
    in flight are awaited and long before the services' cleanup."""
    services = app.get(SERVICES)
    if services is not None:
        services.stop_claiming()
