"""The aiohttp application factory and the lifetimes of its resources."""

from __future__ import annotations

from collections.abc import AsyncIterator

import structlog
from aiohttp import web

from bot.clock import Clock, utcnow
from bot.http import alertmanager, api, ops
from bot.http.auth import WebhookAuth
from bot.http.keys import DATABASE, INGESTOR, METRICS, PLAYBOOKS, SETTINGS, WAKE_OUTBOX, WEBHOOK_AUTH
from bot.http.middleware import observe
from bot.incident.ingest import Ingestor
from bot.observability.metrics import Metrics
from bot.playbook import PlaybookSet, load_playbooks
from bot.runtime.scheduler import scheduler_lifetime
from bot.runtime.slack import handle_slack_events, slack_lifetime
from bot.settings import Settings
from storage.database import Database, describe_url
from storage.migrate import ensure_current, upgrade

log = structlog.get_logger(__name__)


def create_app(settings: Settings, *, playbooks: PlaybookSet | None = None, clock: Clock = utcnow) -> web.Application:
    """Build the application. Nothing connects until the app starts (see ``cleanup_ctx``)."""
    loaded = playbooks if playbooks is not None else load_playbooks(settings.playbooks_dir)
    app = web.Application(middlewares=[observe], client_max_size=settings.webhook_max_bytes)
    app[SETTINGS] = settings
    app[PLAYBOOKS] = loaded
    app[METRICS] = Metrics()
    app[WEBHOOK_AUTH] = WebhookAuth(
        token=settings.alertmanager_webhook_token,
        user=settings.alertmanager_webhook_user,
        password=settings.alertmanager_webhook_password,
    )
    if not app[WEBHOOK_AUTH].configured:
        log.warning(app[WEBHOOK_AUTH].not_configured_reason)
    app[WAKE_OUTBOX] = []
    app.cleanup_ctx.append(_database(loaded, clock))
    app.cleanup_ctx.append(slack_lifetime(loaded, clock))
    app.cleanup_ctx.append(scheduler_lifetime(clock))
    app.router.add_post("/alertmanager", alertmanager.handle_alertmanager)
    app.router.add_post("/slack/events", handle_slack_events)
    app.router.add_get("/healthz", ops.healthz)
    app.router.add_get("/readyz", ops.readyz)
    app.router.add_get("/metrics", ops.metrics)
    app.router.add_get("/incidents", api.list_incidents)
    app.router.add_get("/incidents/{incident_id}", api.get_incident)
    app.router.add_get("/incidents/{incident_id}/postmortem.md", api.get_postmortem)
    return app


def _database(playbooks: PlaybookSet, clock: Clock):  # type: ignore[no-untyped-def]
    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        db = Database(settings.database_url)
        try:
            await prepare_schema(db)
            app[DATABASE] = db
            wake = app[WAKE_OUTBOX]
            app[INGESTOR] = Ingestor(db, lambda: playbooks, clock, on_commit=lambda: [cb() for cb in wake])
            yield
        finally:
            await db.dispose()

    return lifetime


async def prepare_schema(db: Database) -> None:
    """SQLite (one process, embedded) is upgraded in place; PostgreSQL must be upgraded by
    an operator with ``incident-bot db upgrade`` so replicas never race a migration."""
    if db.is_sqlite:
        before, after = await upgrade(db)
        if before != after:
            log.info("database schema upgraded", database=describe_url(db.url), revision=after)
        return
    await ensure_current(db)
