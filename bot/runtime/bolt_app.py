"""The Bolt app that serves slash commands, buttons, modals and events at ``POST /slack/events``
(or over Socket Mode), answering through the bot's one Slack gateway. Imported when the first
Slack request comes (see ``bot.runtime.slack_events``), or at start for Socket Mode."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient

from bot.bolt.listeners import register
from bot.bolt.request_spans import annotate_request
from bot.bolt.timeline_listeners import register_timeline
from bot.incident.capture import TimelineCapture
from bot.incident.command_service import CommandService
from bot.incident.timeline_editor import TimelineEditor
from bot.slack.gateway import SlackError, SlackGateway

log = structlog.get_logger(__name__)
WHO_AM_I_WAIT = 0.5  # seconds of the 3-second acknowledgement budget spent asking Slack who the bot is


def build_bolt(token: str, signing_secret: str, api_url: str, gateway: SlackGateway, service: CommandService,
               capture: TimelineCapture, slash_command: str, editor: TimelineEditor) -> AsyncApp:
    """Bolt verifies, parses and acknowledges; every Web API call its listeners make goes
    through ``gateway``. Bolt's own client only opens Socket Mode connections (with the
    app-level token), so it points at the same Slack API."""
    # A name: without one Bolt takes it from inspect.stack(), which reads every caller's source.
    bolt = AsyncApp(name="incident-bot", client=AsyncWebClient(base_url=api_url), signing_secret=signing_secret,
                    authorize=_authorize_without_slack(token, gateway), process_before_response=False)
    bolt.middleware(annotate_request)
    register(bolt, service, capture, slash_command, gateway)
    register_timeline(bolt, editor, gateway)
    return bolt


@asynccontextmanager
async def socket_mode(bolt: AsyncApp, app_token: str) -> AsyncIterator[None]:
    from bot.bolt.socket_mode import TracedSocketModeHandler

    handler = TracedSocketModeHandler(bolt, app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]


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
