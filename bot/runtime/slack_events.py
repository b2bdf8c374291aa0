"""``POST /slack/events``: served by the Bolt app, which is built when the first Slack request
needs it. Deferred for start-up: slack_bolt and the listeners are about a tenth of a second of
imports and Bolt's own set-up, and a restart serves webhooks, timers and the outbox long before
anyone types a slash command (Slack allows 3 seconds for the acknowledgement)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

from bot.http.json_errors import json_error

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp


class LazyBolt:
    """The one Bolt app of the process, built by ``build`` on the first :meth:`app`."""

    def __init__(self, build: Callable[[], AsyncApp]) -> None:
        self._build = build
        self._app: AsyncApp | None = None

    @property
    def built(self) -> bool:
        return self._app is not None

    def app(self) -> AsyncApp:
        if self._app is None:
            self._app = self._build()
        return self._app


BOLT = web.AppKey("bolt", LazyBolt)


async def handle_slack_events(request: web.Request) -> web.StreamResponse:
    bolt = request.app.get(BOLT)
    if bolt is None:
        return json_error(503, "Slack is not configured on this bot: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET")
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

    app = bolt.app()
    return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))
