"""The timeline's rows, and the row for one event that is shown on its own (not folded
into a burst): one Markdown line per event kind, plus a block quote for text from Slack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.postmortem import text as tx
from bot.postmortem.model import EventRecord, JSONValue

__all__ = ["Pins", "Row", "event_row", "resolved_automatically", "severity_mark", "status_label"]

EventData = Mapping[str, JSONValue]
Pins = dict[str, EventData]  # a pinned message's ts -> its message.pinned data, for the unpin row


@dataclass(slots=True)
class Row:
    """A timestamped line: ``text`` is Markdown for one line, ``quote`` an optional block
    quote (already indented to sit inside the list item) with text from Slack."""

    at: datetime
    kind: str
    text: str = ""
    quote: str = ""
    count: int = 1  # events folded into this row


_STATUS = {"investigating": "Investigating", "identified": "Identified", "monitoring": "Monitoring",
           "resolved": "Resolved"}


def status_label(status: object) -> str:
    return _STATUS.get(str(status), tx.one_line(status))


def severity_mark(name: object) -> str:
    return f"**{tx.one_line(name).upper()}**" if name else "**?**"


def resolved_automatically(event: EventRecord) -> bool:
    """An ``incident.resolved`` event that no person caused."""
    return bool((event.data or {}).get("automatic")) or not tx.is_slack_user(event.actor)


def event_row(event: EventRecord, source: str, pins: Pins) -> Row:
    """The row for one event that is not folded; ``source`` is the incident's. Records a
    pinned message in ``pins`` so that its unpinning can name it."""
    kind, t, actor = event.kind, event.occurred_at, event.actor
    data = event.data or {}
    who = tx.user(actor)
    by_person = tx.is_slack_user(actor)
    row = Row(t, kind)
    if kind == "incident.opened":
        severity = data.get("severity")
        route = f" (route {tx.code(data['route'])})" if data.get("route") else ""
        if by_person:
            row.text = f"{who} declared the incident as {severity_mark(severity)}{route}"
        else:
            what = "Storm incident" if data.get("storm") or source == "storm" else "Incident"
            row.text = f"{what} opened by {who} as {severity_mark(severity)}{route}"
    elif kind == "commander.assigned":
        source_text = str(data.get("source") or "")
        if source_text.startswith("rotation:"):
            how = f" from rotation {tx.code(source_text.split(':', 1)[1])}"
        elif source_text == "static":
            how = " (set in the playbook)"
        elif source_text == "declared":
            how = " (declared the incident)"
        else:
            how = ""
        row.text = f"{tx.user(data.get('commander'))} assigned as commander{how}"
    elif kind == "commander.acknowledged":
        row.text = f"{tx.user(data.get('commander') or actor)} acknowledged as commander"
    elif kind == "commander.changed":
        new, old = data.get("to"), data.get("from")
        was = f" (was {tx.user(old)})" if old else " (there was no commander)"
        if new and new == actor:
            row.text = f"{who} took command{was}"
        else:
            row.text = f"{who} made {tx.user(new)} the commander{was}"
    elif kind == "commander.escalated":
        reason = tx.one_line(data.get("reason") or "")
        seconds = data.get("timeout_seconds")
        if reason and isinstance(seconds, (int, float)):
            reason += f" within {tx.human_duration(timedelta(seconds=seconds))}"
        row.text = (f"Command escalated from {tx.user(data.get('from'))} to {tx.user(data.get('to'))}"
                    + (f": {reason}" if reason else ""))
    elif kind == "escalation.exhausted":
        row.text = (f"{tx.user(data.get('commander'))} did not acknowledge and nobody was left in the rotation "
                    "to escalate to")
    elif kind == "role.assigned":
        row.text = f"{who} made {tx.user(data.get('user'))} **{tx.one_line(data.get('role') or '?')}**"
    elif kind == "severity.changed":
        change = f"{severity_mark(data.get('from'))} → {severity_mark(data.get('to'))}"
        reason = tx.one_line(data.get("reason") or "")
        if data.get("automatic") or not by_person:
            row.text = f"Severity changed automatically {change}"
        else:
            row.text = f"{who} changed the severity {change}"
        if reason:
            row.text += f": {reason}"
    elif kind == "status.changed":
        row.text = f"{who} set the status {status_label(data.get('from'))} → {status_label(data.get('to'))}"
    elif kind == "update.posted":
        row.text = f"Stakeholder update by {who}:"
        row.quote = tx.quote(data.get("text") or "")
    elif kind == "note.added":
        row.text = f"Note by {who}:"
        row.quote = tx.quote(data.get("text") or "")
    elif kind == "message.pinned":
        pins[str(data.get("ts") or "")] = data
        author = data.get("author")
        pinner = data.get("pinned_by") or actor
        row.text = f"Pinned message from {tx.user(author)}"
        if pinner and pinner != author:
            row.text += f", pinned by {tx.user(pinner)}"
        permalink = tx.link("permalink", data.get("permalink"))
        row.text += f" · {permalink}:" if permalink else ":"
        row.quote = tx.quote(data.get("text") or "")
    elif kind == "message.unpinned":
        original = pins.get(str(data.get("ts") or ""), {})
        remover = data.get("unpinned_by") or actor
        author = f" from {tx.user(original['author'])}" if original.get("author") else ""
        permalink = tx.link("permalink", original.get("permalink"))
        row.text = f"{tx.user(remover)} unpinned the message{author}" + (f" · {permalink}" if permalink else "")
    elif kind == "alerts.all_resolved":
        row.text = "All alerts resolved"
    elif kind == "incident.resolved":
        summary = tx.one_line(data.get("summary") or "")
        row.text = "Resolved automatically" if resolved_automatically(event) else f"{who} resolved the incident"
        if summary:
            row.text += f": {summary}"
    elif kind == "incident.reopened":
        if by_person:
            row.text = f"{who} reopened the incident"
        else:
            row.text = "Reopened: an alert fired again within the reopen window"
    elif kind == "storm.started":
        opens, window = data.get("recent_opens"), data.get("window")
        detail = f": {opens} incidents within {_window(window)} on this route" if opens is not None and window else ""
        row.text = f"Storm guard tripped{detail}; further alert groups join this incident"
    elif kind == "update.overdue":
        people = [tx.user(p) for p in (data.get("commander"), data.get("backup")) if p]
        row.text = "Stakeholder update overdue" + (f"; reminded {' and '.join(people)}" if people else "")
    elif kind == "channel.archived":
        row.text = "Channel archived"
    elif kind in ("silence.created", "silence.expired"):
        row.text = _silence(kind, who, data)
    elif kind == "postmortem.edited":
        row.text = f"{who} saved version {tx.one_line(data.get('version') or '?')} of the postmortem"
    elif kind == "workflow.action":
        done = {"trigger": "Paged", "acknowledge": "Page acknowledged", "resolve": "Page resolved"}
        workflow = f" (workflow {tx.code(data['workflow'])})" if data.get("workflow") else ""
        row.text = f"{done.get(str(data.get('event_action')), 'Paged')} in PagerDuty{workflow}"
    else:
        row.text = f"{tx.code(kind)} by {who}"
    return row


def _window(value: object) -> str:
    """``str(timedelta)`` (``0:10:00``, ``1 day, 2:00:00``) as ``10m 00s``; else as given."""
    text = str(value)
    try:
        days = 0
        if "day" in text:
            head, text = text.split(",", 1)
            days = int(head.split()[0])
        h, m, s = text.strip().split(":")
        return tx.human_duration(timedelta(days=days, hours=int(h), minutes=int(m), seconds=float(s)))
    except ValueError:
        return tx.one_line(value)


def _silence(kind: str, who: str, data: EventData) -> str:
    silence_id = data.get("id") or data.get("silence_id")
    name = f" {tx.code(silence_id)}" if silence_id else ""
    if kind == "silence.expired":
        return f"Silence{name} expired" + (f" (by {who})" if who not in ("Alertmanager", "incident-bot") else "")
    text = f"{who} created silence{name}"
    matchers = data.get("matchers")
    if isinstance(matchers, Mapping) and matchers:  # label -> value, as the bot records them
        text += " for " + ", ".join(tx.code(f'{name}="{matchers[name]}"') for name in sorted(matchers))
    elif isinstance(matchers, (list, tuple)) and matchers:  # Alertmanager's own matcher objects or strings
        text += " for " + ", ".join(tx.code(_matcher(m)) for m in matchers)
    until = data.get("ends_at") or data.get("until")
    if until:
        text += f" until {_when(until)}"
    comment = tx.one_line(data.get("comment") or "")
    return text + (f": {comment}" if comment else "")


def _matcher(m: object) -> str:
    if isinstance(m, Mapping):
        op = ("=~" if m.get("isRegex") else "=") if m.get("isEqual", True) else ("!~" if m.get("isRegex") else "!=")
        return f'{m.get("name", "?")}{op}"{m.get("value", "")}"'
    return str(m)


def _when(value: object) -> str:
    if isinstance(value, datetime):
        return tx.full_time(value)
    try:
        return tx.full_time(datetime.fromisoformat(str(value)))
    except ValueError:
        return tx.one_line(value)
