"""Which Slack actions a decision needs, as outbox rows. Pure.

The rows are written in the same transaction as the decision. Content that depends
on the state at delivery time (header, topic) is rendered when the action runs;
content fixed by the decision (change lines, links) is rendered here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.domain.decide import Event
from bot.domain.kinds import ActionKind, EventKind
from bot.domain.links import Link
from bot.slack.blocks import escape, links_text

MAX_LISTED = 5


@dataclass(frozen=True, slots=True)
class PlannedAction:
    kind: ActionKind
    payload: dict[str, object] = field(default_factory=dict)


def plan_open(commander: str | None, responders: Sequence[str], links: Sequence[Link],
              storm_notice: str | None = None) -> list[PlannedAction]:
    """Everything a new incident needs in Slack, in the order people should see it."""
    actions = [PlannedAction(ActionKind.CHANNEL_CREATE), PlannedAction(ActionKind.CHANNEL_TOPIC),
               PlannedAction(ActionKind.CHANNEL_PURPOSE)]
    invited: list[str] = []
    for user in [commander, *responders]:
        if user and user not in invited:
            invited.append(user)
            actions.append(PlannedAction(ActionKind.CHANNEL_INVITE, {"user": user}))
    actions += [PlannedAction(ActionKind.MESSAGE_HEADER), PlannedAction(ActionKind.MESSAGE_PIN_HEADER)]
    if storm_notice:
        actions.append(PlannedAction(ActionKind.MESSAGE_POST, {"text": storm_notice, "purpose": "storm"}))
    actions.append(PlannedAction(ActionKind.MESSAGE_POST, {"text": links_text(links), "purpose": "links"}))
    for kind in ("runbook", "dashboard"):
        first = next((link for link in links if link.kind == kind), None)
        if first is not None:
            bookmark: dict[str, object] = {"title": first.title[:60] or kind.title(), "link": first.url}
            actions.append(PlannedAction(ActionKind.BOOKMARK_ADD, bookmark))
    return actions


def _listed(events: Sequence[Event]) -> str:
    names = [f"{escape(str(e.data.get('alertname', '?')))} {escape(str(e.data.get('detail', '')))}".strip()
             for e in events[:MAX_LISTED]]
    more = f" and {len(events) - MAX_LISTED} more" if len(events) > MAX_LISTED else ""
    return ", ".join(names) + more


def change_text(events: Sequence[Event], commander: str | None) -> str | None:
    by_kind: dict[EventKind, list[Event]] = {}
    for event in events:
        by_kind.setdefault(event.kind, []).append(event)
    lines = []
    if EventKind.INCIDENT_REOPENED in by_kind:
        lines.append(":recycle: *Reopened*: alerts fired again within the reopen window.")
    for event in by_kind.get(EventKind.SEVERITY_CHANGED, []):
        lines.append(f":arrow_up: Severity raised {escape(str(event.data['from'])).upper()} → "
                     f"{escape(str(event.data['to'])).upper()} ({escape(str(event.data.get('reason', '')))}).")
    if joined := by_kind.get(EventKind.STORM_GROUP_JOINED):
        lines.append(f":rotating_light: {len(joined)} alert group{'s' if len(joined) != 1 else ''} joined the storm: "
                     + ", ".join(f"`{escape(str(e.data.get('group_key', '?'))[:120])}`" for e in joined[:MAX_LISTED])
                     + (f" and {len(joined) - MAX_LISTED} more" if len(joined) > MAX_LISTED else ""))
    if fired := by_kind.get(EventKind.ALERT_FIRED):
        lines.append(f":fire: {len(fired)} new alert{'s' if len(fired) != 1 else ''}: {_listed(fired)}")
    if resolved := by_kind.get(EventKind.ALERT_RESOLVED):
        lines.append(f":white_check_mark: {len(resolved)} resolved: {_listed(resolved)}")
    if EventKind.ALERTS_ALL_RESOLVED in by_kind:
        who = f"<@{commander}>" if commander else "Commander"
        lines.append(f":tada: All alerts have resolved. {who}, type `/incident resolve` once you are sure it is over.")
    return "\n".join(lines) or None


def storm_notice(route: str, max_incidents: int, window: str) -> str:
    return (f":rotating_light: *Alert storm*: more than {max_incidents} incidents opened within {window} on route "
            f"{escape(route)}. New alert groups join this incident instead of each opening a channel; every alert "
            "is still recorded.")
