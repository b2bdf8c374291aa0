"""Slack's lifetime inside the app: the gateway, the outbox worker, and the Bolt app that
serves slash commands, buttons, modals and events at ``POST /slack/events``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import structlog
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.alertmanager import AlertmanagerClient
from bot.bolt.listeners import register
from bot.clock import Clock
from bot.delivery.slack_actions import SlackActions
from bot.delivery.worker import OutboxWorker
from bot.http.errors import json_error
from bot.http.keys import BOLT, DATABASE, METRICS, SETTINGS, WAKE_OUTBOX
from bot.incident.capture import TimelineCapture
from bot.incident.command_service import CommandService
from bot.playbook import PlaybookSet
from bot.slack.gateway import SlackError, SlackGateway

log = structlog.get_logger(__name__)
GROUP_CACHE_SECONDS = 60.0
WHO_AM_I_WAIT = 0.5  # seconds of the 3-second acknowledgement budget spent asking Slack who the bot is


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

        async def stop_claiming(_app: web.Application) -> None:
            worker.stop_claiming()
        # on_shutdown runs as soon as the server stops listening (SIGTERM), before the
        # requests in flight are awaited and long before this lifetime's cleanup.
        app.on_shutdown.append(stop_claiming)

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
            bolt = AsyncApp(client=AsyncWebClient(base_url=settings.slack_api_url),
                            signing_secret=settings.slack_signing_secret.get_secret_value(),
                            authorize=_authorize_without_slack(token, gateway), process_before_response=False)
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
            await worker.stop(grace=settings.outbox_shutdown_grace_seconds)
            await gateway.close()

    return lifetime


def _authorize_without_slack(token: str, gateway: SlackGateway) -> Callable[..., Awaitable[AuthorizeResult]]:
    """Bolt's default authorization asks Slack (``auth.test``) before serving a request, so
    while Slack is down every slash command would be answered "reinstall this app" and
    nothing done. The token is known; the bot's own user id (to ignore its own events) is
    asked once and remembered, and is simply unknown while Slack does not answer."""

    async def authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> AuthorizeResult:
        try:
            bot_user: str | None = await asyncio.wait_for(gateway.bot_user_id(), WHO_AM_I_WAIT)
        except (TimeoutError, SlackError) as exc:
            log.warning("Slack did not say who the bot is; serving the request anyway", error=str(exc))
            bot_user = None
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id, bot_token=token,
                               bot_user_id=bot_user)

    return authorize
