"""Reads from Slack that commands and timeline capture need, answered through the gateway."""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.slack.directory import find_user
from bot.slack.gateway import SlackError, SlackGateway

GROUP_CACHE_SECONDS = 60.0


class SlackLookups:
    def __init__(self, gateway: SlackGateway, *, group_cache_seconds: float = GROUP_CACHE_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._gateway = gateway
        self._group_cache_seconds = group_cache_seconds
        self._monotonic = monotonic
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._team_id: str | None = None

    async def group_members(self, group: str) -> frozenset[str]:
        """The user ids in a user group; a permission check per command must not cost a Slack call each."""
        cached = self._members.get(group)
        if cached is not None and self._monotonic() - cached[0] < self._group_cache_seconds:
            return cached[1]
        users = frozenset((await self._gateway.call("usergroups.users.list", usergroup=group)).get("users", []))
        self._members[group] = (self._monotonic(), users)
        return users

    async def user_exists(self, user_id: str) -> bool | None:
        """Whether this is an active member of the workspace (users.info); None when Slack
        could not say."""
        try:
            found = await find_user(self._gateway, user_id)
        except SlackError:
            return None
        return found is not None and not found.deleted

    async def fetch_message(self, channel: str, ts: str) -> tuple[str, str, str]:
        """(author, text, permalink) of one message."""
        history = await self._gateway.call("conversations.history", channel=channel, latest=ts, inclusive=True,
                                           limit=1)
        message: dict[str, object] = next((m for m in history.get("messages", []) if m.get("ts") == ts), {})
        link = await self._gateway.call("chat.getPermalink", channel=channel, message_ts=ts)
        return str(message.get("user") or message.get("bot_id") or ""), str(message.get("text", "")), \
            str(link.get("permalink", ""))

    async def display_name(self, user_id: str) -> str | None:
        """How the workspace shows this person (display name, else real name, else handle);
        None when Slack could not say now. One try: a page must not wait out a rate limit."""
        try:
            found = await self._gateway.call("users.info", user=user_id)
        except SlackError:
            return None
        user = found.get("user") or {}
        profile = user.get("profile") or {}
        return str(profile.get("display_name") or profile.get("real_name") or user.get("real_name")
                   or user.get("name") or "") or None

    async def team_id(self) -> str | None:
        """The bot's own workspace (auth.test), asked until Slack answers, then kept."""
        if self._team_id is None:
            try:
                self._team_id = str((await self._gateway.call("auth.test")).get("team_id") or "") or None
            except SlackError:
                return None
        return self._team_id
