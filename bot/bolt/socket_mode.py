"""Socket Mode's handler, with each request Slack sends over the socket in a span of its own
(no HTTP request carries it): the acknowledgement and the listeners Bolt starts from the
dispatch run in that span, so their transactions and outbox actions are in its trace.
Imported only by a bot with ``SLACK_APP_TOKEN``."""

from __future__ import annotations

from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.bolt.request_spans import slack_request_span


class TracedSocketModeHandler(AsyncSocketModeHandler):
    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]  # Bolt's own signature
        payload = req.payload if isinstance(req.payload, dict) else {}
        with slack_request_span(payload):
            await super().handle(client, req)
