"""Response URLs handed to the bot with slash commands and interactions.

Slack accepts up to 5 posts to one URL within 30 minutes; later posts get HTTP 404
(``used_url`` / ``expired_url``, plain text). An accepted post takes effect in the
workspace: ``in_channel`` adds a message from the bot, ``ephemeral`` (the default) an
ephemeral one, ``replace_original``/``delete_original`` edit or remove the message an
interaction came from.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from .errors import SlackError
from .methods_chat import Content, check_blocks, post
from .state import Ephemeral, Workspace

MAX_POSTS = 5
LIFETIME = 30 * 60.0


@dataclass
class ResponseUrl:
    id: str
    channel_id: str | None
    user_id: str | None
    message_ts: str | None
    issued_at: float
    accepted: int = 0


@dataclass
class ResponsePost:
    """One POST the bot made to a response URL, accepted or not."""

    response_id: str
    payload: Any
    status: int
    at: float


class ResponseUrls:
    """Issues response URLs and applies what the bot posts to them."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.urls: dict[str, ResponseUrl] = {}
        self.posts: list[ResponsePost] = []

    def issue(self, *, channel_id: str | None, user_id: str | None, message_ts: str | None = None) -> str:
        """A new response URL for this context."""
        url = ResponseUrl(self.ws.new_id("R"), channel_id, user_id, message_ts, time.monotonic())
        self.urls[url.id] = url
        return f"{self.ws.base_url}response/{url.id}"

    def receive(self, response_id: str, body: bytes) -> tuple[int, str]:
        """Apply one post; return the HTTP status and plain-text body Slack would answer."""
        try:
            payload: Any = json.loads(body or b"null")
        except ValueError:
            payload = body.decode(errors="replace")
        status, text = self._apply(response_id, payload)
        self.posts.append(ResponsePost(response_id, payload, status, time.monotonic()))
        return status, text

    def _apply(self, response_id: str, payload: Any) -> tuple[int, str]:
        url = self.urls.get(response_id)
        if url is None:
            return 404, "invalid_url"
        if time.monotonic() - url.issued_at > LIFETIME:
            return 404, "expired_url"
        if url.accepted >= MAX_POSTS:
            return 404, "used_url"
        if not isinstance(payload, dict):
            return 400, "invalid_payload"
        try:
            self._effect(url, payload)
        except SlackError as exc:
            return 400, exc.error
        url.accepted += 1
        return 200, "ok"

    def _effect(self, url: ResponseUrl, payload: dict[str, Any]) -> None:
        channel = self.ws.channels.get(url.channel_id or "")
        original = channel.message(url.message_ts) if channel and url.message_ts else None
        if payload.get("delete_original"):
            if channel and original:
                channel.messages.remove(original)
            return
        text = payload.get("text")
        blocks = check_blocks(payload.get("blocks"))
        if not text and not blocks:
            raise SlackError("no_text")
        if payload.get("replace_original") and original is not None:
            original.text = str(text or "")
            original.blocks = blocks
            return
        if payload.get("response_type") == "in_channel" and channel is not None:
            content = Content(str(text or ""), blocks, None, None, [])
            post(self.ws, channel, user=self.ws.bot_user_id, content=content, thread_ts=payload.get("thread_ts"))
            return
        ts = self.ws.new_ts()
        self.ws.ephemerals.append(Ephemeral(url.channel_id or "", url.user_id or "", str(text or ""), blocks, ts))
