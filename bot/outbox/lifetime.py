"""Start the Slack gateway and the outbox worker with the app; stop them cleanly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import structlog
from aiohttp import web

from bot.clock import Clock
from bot.http.keys import DATABASE, METRICS, SETTINGS, WAKE_OUTBOX
from bot.outbox.slack_actions import SlackActions
from bot.outbox.worker import OutboxWorker
from bot.playbook import PlaybookSet
from bot.slack.client import SlackGateway

log = structlog.get_logger(__name__)


def outbox_lifetime(playbooks: PlaybookSet, clock: Clock):  # type: ignore[no-untyped-def]
    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        if settings.slack_bot_token is None:
            log.warning("SLACK_BOT_TOKEN is not set: incidents are recorded, Slack actions wait in the outbox")
            yield
            return
        gateway = SlackGateway(settings.slack_bot_token.get_secret_value(), settings.slack_api_url, app[METRICS],
                               rate_limit_scale=settings.slack_rate_limit_scale)
        actions = SlackActions(app[DATABASE], gateway, lambda: playbooks, clock)
        worker = OutboxWorker(app[DATABASE], actions.run, clock, app[METRICS], concurrency=settings.outbox_concurrency,
                              lease=timedelta(seconds=settings.outbox_lease_seconds))
        app[WAKE_OUTBOX].append(worker.notify)
        worker.start()
        try:
            yield
        finally:
            await worker.stop()
            await gateway.close()

    return lifetime
