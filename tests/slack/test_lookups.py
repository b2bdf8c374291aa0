"""Slack lookups for commands and capture: group members are cached for a minute."""

from __future__ import annotations

from typing import Any, cast

from bot.slack.gateway import SlackGateway
from bot.slack.lookups import GROUP_CACHE_SECONDS, SlackLookups


class CountingGateway:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.members = ["UALICE"]

    async def call(self, method: str, **args: Any) -> dict[str, Any]:
        self.calls.append(method)
        return {"users": list(self.members)}


async def test_group_members_are_asked_once_a_minute() -> None:
    gateway, now = CountingGateway(), [100.0]
    lookups = SlackLookups(cast("SlackGateway", gateway), monotonic=lambda: now[0])
    assert await lookups.group_members("S1") == frozenset({"UALICE"})
    gateway.members = ["UBOB"]
    now[0] += GROUP_CACHE_SECONDS - 1
    assert await lookups.group_members("S1") == frozenset({"UALICE"})
    now[0] += 1
    assert await lookups.group_members("S1") == frozenset({"UBOB"})
    assert await lookups.group_members("S2") == frozenset({"UBOB"})
    assert gateway.calls == ["usergroups.users.list"] * 3
