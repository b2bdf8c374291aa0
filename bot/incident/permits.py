"""Whether a person may do a privileged thing to an incident, by its playbook's rules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.domain import policy as pol
from bot.domain.permissions import allowed, who_may
from bot.playbook import Playbook
from storage.rows import IncidentRow

GroupMembers = Callable[[str], Awaitable[frozenset[str]]]


async def refusal(rule_name: str, what: str, incident: IncidentRow, actor: str, playbook: Playbook | None,
                  group_members: GroupMembers | None) -> str | None:
    """None when ``actor`` may, by the playbook's ``permissions.<rule_name>``; else the
    refusal, saying who can ``what`` (an incident whose playbook is gone allows all)."""
    if playbook is None:
        return None
    rule = getattr(playbook.permissions, rule_name)
    responders = await responders_of(incident, playbook, group_members if rule == "responders" else None)
    if allowed(rule, actor, incident.commander, responders):
        return None
    return f"Only {who_may(rule, incident.commander)} can {what} for this incident."


async def responders_of(incident: IncidentRow, playbook: Playbook | None,
                        group_members: GroupMembers | None) -> set[str]:
    """The incident's responders: its route's, whoever holds a role, and the members of the
    playbook's ``responders_group`` (asked of Slack only when ``group_members`` is given)."""
    responders = set(pol.responders(incident.policy)) | set((incident.roles or {}).values())
    group = playbook.permissions.responders_group if playbook is not None else None
    if group and group_members is not None:
        responders |= await group_members(group)
    return responders
