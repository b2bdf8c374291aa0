"""What an incident looks like in Slack: header, links and change lines. Pure.

Everything that comes from alerts (labels, annotations, titles) is escaped for mrkdwn,
so an alert cannot inject ``<!channel>`` or a fake link.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.links import Link

MAX_HEADER_ALERTS = 10
SEVERITY_ICONS = {0: ":red_circle:", 1: ":large_orange_circle:", 2: ":large_yellow_circle:"}
STATUS_LABELS = {"investigating": "Investigating", "identified": "Identified", "monitoring": "Monitoring",
                 "resolved": "Resolved"}

ACTION_ACK = "incident_acknowledge"
ACTION_TAKE_COMMAND = "incident_take_command"
ACTION_RAISE_SEVERITY = "incident_raise_severity"
ACTION_POST_UPDATE = "incident_post_update"
ACTION_RESOLVE = "incident_resolve"
ACTION_DECLARE = "triage_declare"
ACTION_OPEN_PAGE = "incident_open_page"  # a link button: Slack opens the URL, the bot only acknowledges


# A cut-off escape (``&am``) or bot link (``<https://x|Run``) at the end of clipped mrkdwn.
_CUT_MARKUP = re.compile(r"&[a-z]{0,3}$|<[^>]*$")
_URL_CONTROL = {ord("<"): "%3C", ord(">"): "%3E", ord("|"): "%7C"}


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, title: str) -> str:
    """``<url|title>``: a URL cannot end the link early (``>``, ``|``) and the title is escaped."""
    return f"<{url.translate(_URL_CONTROL)}|{escape(title).replace('|', '¦')}>"


def _plain(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clip(mrkdwn: str, limit: int) -> str:
    """Like _plain, for escaped mrkdwn: never leaves half an escape or half a link."""
    return mrkdwn if len(mrkdwn) <= limit else _CUT_MARKUP.sub("", mrkdwn[: limit - 1]) + "…"


@dataclass(frozen=True, slots=True)
class AlertLine:
    name: str
    detail: str  # e.g. the instance, or a distinguishing label
    summary: str = ""
    stale: bool = False  # gone from Alertmanager without a resolved notification


@dataclass(frozen=True, slots=True)
class IncidentView:
    """The state the header shows."""

    id: int
    title: str
    severity: str
    severity_rank: int
    status: str
    commander: str | None
    opened_at: datetime
    source: str
    route: str
    firing: Sequence[AlertLine] = field(default_factory=tuple)  # the first MAX_HEADER_ALERTS at least
    firing_count: int | None = None  # how many fire, if more than ``firing`` lists (None: as many)
    acknowledged: bool = False
    all_alerts_resolved: bool = False
    silenced_until: datetime | None = None
    page_url: str | None = None  # the incident's page in the web workspace


def _mention(user: str | None) -> str:
    return f"<@{user}>" if user else "_unassigned_"


def _date(at: datetime) -> str:
    # Slack renders this in each reader's own time zone; the fallback is UTC.
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{at:%Y-%m-%d %H:%M} UTC>"


def _alert_text(line: AlertLine) -> str:
    text = f"*{escape(line.name)}*"
    if line.detail:
        text += f" {escape(line.detail)}"
    if line.summary:
        text += f" — {escape(_plain(line.summary, 140))}"
    if line.stale:
        text += " _(stale: gone from Alertmanager)_"
    return text


def header_text(view: IncidentView) -> str:
    """The message's ``text``: what notifications show, and mrkdwn like the blocks."""
    return f"{escape(view.severity.upper())} · {escape(view.title)} · {STATUS_LABELS.get(view.status, view.status)}"


def header_blocks(view: IncidentView) -> list[dict[str, Any]]:
    icon = SEVERITY_ICONS.get(view.severity_rank, ":white_circle:")
    status = STATUS_LABELS.get(view.status, view.status)
    commander = _mention(view.commander) + ("" if view.acknowledged or not view.commander else " (not yet acknowledged)")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _plain(f"{view.severity.upper()} · {view.title}", 150),
                                    "emoji": True}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*Severity*\n{icon} {escape(view.severity.upper())}"},
            {"type": "mrkdwn", "text": f"*Status*\n{status}"},
            {"type": "mrkdwn", "text": f"*Commander*\n{commander}"},
            {"type": "mrkdwn", "text": f"*Started*\n{_date(view.opened_at)}"},
        ]},
    ]
    if view.firing:
        firing = len(view.firing) if view.firing_count is None else view.firing_count
        shown = [f"• {_alert_text(line)}" for line in view.firing[:MAX_HEADER_ALERTS]]
        rest = firing - len(shown)
        if rest > 0:
            shown.append(f"…and {rest} more")
        text = f"*Firing alerts ({firing})*\n" + "\n".join(shown)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, 3000)}})
    elif view.all_alerts_resolved:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": ":white_check_mark: All alerts have resolved."}})
    source = "declared by Alertmanager" if view.source == "alertmanager" else "declared by hand"
    context = f"Incident #{view.id} · {escape(view.route)} · {source}"
    if view.silenced_until is not None and view.status != "resolved":
        context += f" · :mute: alerts silenced until {_date(view.silenced_until)}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    buttons: list[dict[str, Any]] = []
    if view.status != "resolved":
        if not view.acknowledged:
            buttons.append(_button("Acknowledge", ACTION_ACK, view.id, style="primary"))
        buttons += [_button("Take command", ACTION_TAKE_COMMAND, view.id),
                    _button("Raise severity", ACTION_RAISE_SEVERITY, view.id),
                    _button("Post update", ACTION_POST_UPDATE, view.id),
                    _button("Resolve", ACTION_RESOLVE, view.id, style="danger")]
    if view.page_url:
        buttons.append({**_button("Open in browser", ACTION_OPEN_PAGE, view.id),
                        "url": view.page_url.translate(_URL_CONTROL)})
    if buttons:
        blocks.append({"type": "actions", "block_id": f"incident:{view.id}", "elements": buttons})
    return blocks


def _button(text: str, action_id: str, incident_id: int, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": text},
                              "action_id": action_id, "value": str(incident_id)}
    if style:
        button["style"] = style
    return button


def links_text(links: Sequence[Link]) -> str:
    if not links:
        return "No runbook, dashboard or trace links were found for these alerts."
    order = ["runbook", "dashboard", "traces", "logs", "prometheus", "link"]
    lines = ["*Links*"]
    for item in sorted(links, key=lambda each: order.index(each.kind) if each.kind in order else len(order)):
        lines.append(f"• {link(item.url, _plain(item.title, 80))} ({item.kind})")
    return "\n".join(lines)


def topic(view: IncidentView) -> str:
    text = f"{view.severity.upper()} · {STATUS_LABELS.get(view.status, view.status)} · commander "
    text += f"<@{view.commander}>" if view.commander else "unassigned"
    return _plain(f"{text} · {view.title}", 250)


def purpose(view: IncidentView) -> str:
    return _plain(f"Incident #{view.id}: {view.title}. Managed by incident-bot; type /incident help.", 250)


def triage_blocks(title: str, severity: str, route: str, firing: Sequence[AlertLine], links: Sequence[Link],
                  group_id: int, resolved: bool) -> list[dict[str, Any]]:
    state = ":white_check_mark: resolved" if resolved else f":warning: {len(firing)} firing"
    lines = [f"• {_alert_text(line)}" for line in firing[:MAX_HEADER_ALERTS]]
    if len(firing) > MAX_HEADER_ALERTS:
        lines.append(f"…and {len(firing) - MAX_HEADER_ALERTS} more")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(
            f"*{escape(title)}* ({escape(severity.upper())}, {state}; not declared)\n" + "\n".join(lines), 3000)}},
    ]
    if links:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": _clip(" · ".join(link(item.url, item.title) for item in links[:8]), 3000)}]})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"route {escape(route)}"}]})
    if not resolved:
        blocks.append({"type": "actions", "block_id": f"triage:{group_id}", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Declare incident"}, "style": "danger",
             "action_id": ACTION_DECLARE, "value": str(group_id)}]})
    return blocks
