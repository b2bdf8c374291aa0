"""Slack's lifetime inside the app: the gateway, the outbox worker, and the Bolt app that
serves slash commands, buttons, modals and events at ``POST /slack/events``."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta

import structlog
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.alertmanager.client import AlertmanagerClient
from bot.capture import TimelineCapture
from bot.clock import Clock
from bot.commands.service import CommandService
from bot.http.errors import json_error
from bot.http.keys import BOLT, DATABASE, METRICS, SETTINGS, WAKE_OUTBOX
from bot.outbox.slack_actions import SlackActions
from bot.outbox.worker import OutboxWorker
from bot.playbook import PlaybookSet
from bot.slack.client import SlackGateway
from bot.slack.listeners import register

log = structlog.get_logger(__name__)
GROUP_CACHE_SECONDS = 60.0


async def handle_slack_events(request: web.Request) -> web.StreamResponse:
    bolt = request.app.get(BOLT)
    if bolt is None:
        return json_error(503, "Slack is not configured on this bot: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET")
    return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))


def slack_lifetime(playbooks: PlaybookSet, clock: Clock):  # type: ignore[no-untyped-def]
    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        if settings.slack_bot_token is None:
            log.warning("SLACK_BOT_TOKEN is not set: incidents are recorded, Slack actions wait in the outbox")
            yield
            return
        token = settings.slack_bot_token.get_secret_value()
        gateway = SlackGateway(token, settings.slack_api_url, app[METRICS],
                               rate_limit_scale=settings.slack_rate_limit_scale)
        db = app[DATABASE]
        wake = app[WAKE_OUTBOX]

        def on_commit() -> None:
            for callback in wake:
                callback()

        actions = SlackActions(db, gateway, lambda: playbooks, clock, settings.prometheus_url, settings.playbooks_dir)
        worker = OutboxWorker(db, actions.run, clock, app[METRICS], concurrency=settings.outbox_concurrency,
                              lease=timedelta(seconds=settings.outbox_lease_seconds))
        wake.append(worker.notify)
        worker.start()

        members_cache: dict[str, tuple[float, frozenset[str]]] = {}

        async def group_members(group: str) -> frozenset[str]:
            cached = members_cache.get(group)
            if cached is not None and time.monotonic() - cached[0] < GROUP_CACHE_SECONDS:
                return cached[1]
            users = frozenset((await gateway.call("usergroups.users.list", usergroup=group)).get("users", []))
            members_cache[group] = (time.monotonic(), users)
            return users

        async def fetch_message(channel: str, ts: str) -> tuple[str, str, str]:
            history = await gateway.call("conversations.history", channel=channel, latest=ts, inclusive=True, limit=1)
            message = next((m for m in history.get("messages", []) if m.get("ts") == ts), {})
            link = await gateway.call("chat.getPermalink", channel=channel, message_ts=ts)
            return str(message.get("user") or message.get("bot_id") or ""), str(message.get("text", "")), \
                str(link.get("permalink", ""))

        bolt = None
        socket_handler = None
        if settings.slack_signing_secret is not None:
            alertmanager = AlertmanagerClient(settings.alertmanager_url) if settings.alertmanager_url else None
            service = CommandService(db, lambda: playbooks, clock, on_commit, settings.slash_command, group_members,
                                     alertmanager)
            capture = TimelineCapture(db, lambda: playbooks, clock, fetch_message, on_commit)
            bolt = AsyncApp(client=AsyncWebClient(token=token, base_url=settings.slack_api_url),
                            signing_secret=settings.slack_signing_secret.get_secret_value(),
                            process_before_response=False)
            register(bolt, service, capture, settings.slash_command)
            app[BOLT] = bolt
            if settings.slack_app_token is not None:
                from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

                socket_handler = AsyncSocketModeHandler(bolt, settings.slack_app_token.get_secret_value())
                await socket_handler.connect_async()
        else:
            log.warning("SLACK_SIGNING_SECRET is not set: /slack/events refuses every request")
        try:
            yield
        finally:
            if socket_handler is not None:
                await socket_handler.close_async()
            await worker.stop()
            await gateway.close()

    return lifetime
