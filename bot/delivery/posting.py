"""Posting to Slack exactly once in effect, and finding channels by name.

A message carries the id of the outbox action that posts it in Slack's message metadata,
so a retry after an interrupted attempt finds the message instead of posting it twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from bot.slack.directory import channel_pages
from bot.slack.gateway import SlackGateway, SlackPermanentError
from storage.outbox import ClaimedAction

METADATA_EVENT = "incident_bot_action"
HISTORY_LOOKBACK = 100


class Poster:
    def __init__(self, gateway: SlackGateway) -> None:
        self._slack = gateway

    async def post_once(self, action: ClaimedAction, channel: str, text: str,
                        message_blocks: list[dict[str, Any]] | None = None) -> str:
        """Post once: a retry first looks for the message an interrupted attempt posted."""
        if action.attempts > 1:
            found = await self._find_posted(channel, action.id)
            if found is not None:
                return found
        args: dict[str, Any] = {"text": text, "unfurl_links": False, "unfurl_media": False,
                                "metadata": {"event_type": METADATA_EVENT, "event_payload": {"action": action.id}}}
        if message_blocks is not None:
            args["blocks"] = message_blocks
        try:
            response = await self._slack.call("chat.postMessage", channel=channel, **args)
        except SlackPermanentError as exc:
            if exc.error != "not_in_channel":
                raise
            # A public channel the bot was never invited to (triage, stakeholders): join it.
            try:
                await self._slack.call("conversations.join", channel=channel)
            except SlackPermanentError as refused:
                if refused.error in ("is_archived", "channel_not_found"):
                    raise
                raise exc from refused  # it may not join by itself (e.g. a missing scope): still not in the channel
            response = await self._slack.call("chat.postMessage", channel=channel, **args)
        return str(response["ts"])

    async def _find_posted(self, channel: str, action_id: int) -> str | None:
        history = await self._slack.call("conversations.history", channel=channel, limit=HISTORY_LOOKBACK,
                                         include_all_metadata=True)
        for message in history.get("messages", []):
            metadata = message.get("metadata") or {}
            if metadata.get("event_type") == METADATA_EVENT and \
                    (metadata.get("event_payload") or {}).get("action") == action_id:
                return str(message["ts"])
        return None

    def channels(self, *, archived: bool = False) -> AsyncIterator[dict[str, Any]]:
        """Every channel the bot can see, page by page (a rate limit is raised, to retry the action)."""
        return channel_pages(self._slack, archived=archived)

    async def channel_id(self, channel: str) -> str:
        """A channel id as given, or the id of a ``#name`` (the bot must be able to see it)."""
        if not channel.startswith("#"):
            return channel
        async for found in self.channels(archived=True):  # an archived one is named as such when posting fails
            if found.get("name") == channel[1:]:
                return str(found["id"])
        raise SlackPermanentError("conversations.list", f"channel_not_found: {channel}")
