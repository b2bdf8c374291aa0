"""What a Slack workspace has, as the bot's token sees it: who it is, its channels, its users.

Reads only, through the :class:`SlackGateway`. A rate-limited call waits for Slack's
``Retry-After`` and is made again (a few times); every other failure is raised as the
gateway's :class:`SlackError` for the caller to explain.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from bot.slack.gateway import SlackGateway, SlackPermanentError, SlackRateLimited

RATE_LIMIT_WAITS = 5
PAGE_SIZE = 200  # Slack recommends no more than 200 results per page
# users.info errors that mean the id names nobody this token can see.
NO_SUCH_USER = frozenset({"user_not_found", "user_not_visible"})


@dataclass(frozen=True, slots=True)
class Team:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Channel:
    id: str
    name: str
    is_private: bool


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str
    deleted: bool


async def _patiently(call: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """``call()``, made again after each rate-limit wait; the last attempt's error is raised."""
    for _ in range(RATE_LIMIT_WAITS):
        try:
            return await call()
        except SlackRateLimited as exc:
            await asyncio.sleep(exc.retry_after)
    return await call()


async def team(slack: SlackGateway) -> Team:
    """The workspace the token belongs to (auth.test; also proves the token works)."""
    found = await _patiently(lambda: slack.call("auth.test"))
    return Team(str(found.get("team_id", "")), str(found.get("team", "")))


async def channel_pages(slack: SlackGateway, *, archived: bool = False,
                        patient: bool = False) -> AsyncIterator[dict[str, Any]]:
    """Every channel the bot can see (public ones, and the private ones it is in), through all
    pages of conversations.list; archived ones only when asked. ``patient`` waits out rate
    limits (the command line); otherwise a rate limit is raised, for the outbox to retry."""
    def list_page(cursor: str) -> Awaitable[dict[str, Any]]:
        return slack.call("conversations.list", types="public_channel,private_channel", exclude_archived=not archived,
                          limit=PAGE_SIZE, **({"cursor": cursor} if cursor else {}))

    cursor = ""
    while True:
        page = await (_patiently(partial(list_page, cursor)) if patient else list_page(cursor))
        for channel in page.get("channels") or []:
            yield channel
        cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
        if not cursor:
            return


async def visible_channels(slack: SlackGateway) -> list[Channel]:
    """Every channel the bot can post to or join, archived ones left out."""
    return [Channel(str(c["id"]), str(c.get("name", "")), bool(c.get("is_private")))
            async for c in channel_pages(slack, patient=True)]


async def find_user(slack: SlackGateway, user_id: str) -> User | None:
    """The user with this id (deactivated ones included), or None if Slack has none."""
    try:
        found = await _patiently(lambda: slack.call("users.info", user=user_id))
    except SlackPermanentError as exc:
        if exc.error in NO_SUCH_USER:
            return None
        raise
    user = found.get("user") or {}
    return User(str(user.get("id", user_id)), str(user.get("name", "")), bool(user.get("deleted")))
