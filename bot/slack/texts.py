"""Text for command replies: incident lists, event summaries, stakeholder updates. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from bot.slack.blocks import STATUS_LABELS, escape
from storage.rows import IncidentRow, JSONValue

_EVENT_TEXT = {
    "incident.opened": "opened", "commander.assigned": "commander assigned", "alert.fired": "alert fired",
    "alert.resolved": "alert resolved", "alerts.all_resolved": "all alerts resolved",
    "severity.changed": "severity changed", "status.changed": "status changed",
    "commander.changed": "commander changed",
    "commander.acknowledged": "acknowledged", "role.assigned": "role assigned", "update.posted": "update posted",
    "note.added": "note", "incident.resolved": "resolved", "incident.reopened": "reopened",
    "message.pinned": "pinned message", "message.unpinned": "unpinned message",
    "postmortem.edited": "postmortem edited",
}


def list_text(incidents: Sequence[IncidentRow]) -> str:
    if not incidents:
        return "No open incidents."
    lines = [f"*Open incidents ({len(incidents)})*"]
    for incident in incidents:
        where = f"<#{incident.channel_id}>" if incident.channel_id else escape(incident.channel_name)
        commander = f"<@{incident.commander}>" if incident.commander else "no commander"
        lines.append(f"• #{incident.id} {incident.severity.upper()} {escape(incident.title)} · "
                     f"{STATUS_LABELS.get(incident.status, incident.status)} · {commander} · {where}")
    return "\n".join(lines)


def _detail(kind: str, data: Mapping[str, JSONValue]) -> str:
    if kind in ("severity.changed", "status.changed", "commander.changed"):
        return f"{data.get('from')} → {data.get('to')}"
    if kind in ("alert.fired", "alert.resolved"):
        return f"{data.get('alertname')} {data.get('detail', '')}".strip()
    if kind in ("note.added", "update.posted"):
        return str(data.get("text", ""))[:200]
    if kind == "role.assigned":
        return f"{data.get('role')}: <@{data.get('user')}>"
    if kind == "message.pinned":
        return str(data.get("text", ""))[:200]
    if kind == "postmortem.edited":
        return f"version {data.get('version')}"
    return ""


def event_summary(kind: str, data: Mapping[str, JSONValue]) -> str:
    """What an event was, in a few plain words (not escaped)."""
    detail = _detail(kind, data)
    return f"{_EVENT_TEXT.get(kind, kind)}{': ' + detail if detail else ''}"


def update_text(incident: IncidentRow, text: str, author: str, final: bool = False) -> str:
    label = "Final update" if final else "Update"
    status = STATUS_LABELS.get(incident.status, incident.status)
    commander = f"<@{incident.commander}>" if incident.commander else "unassigned"
    by = f"<@{author}>" if author[:1] in ("U", "W") else author
    return (f":loudspeaker: *{label} on incident #{incident.id}: {escape(incident.title)}*\n"
            f"{incident.severity.upper()} · {status} · commander {commander}\n{text}\n_— {by}_")


def _ago(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def draft_update(incident: IncidentRow, firing: int, last: tuple[datetime, str] | None, now: datetime) -> str:
    """A draft stakeholder update from the current state, for the commander to edit."""
    status = STATUS_LABELS.get(incident.status, incident.status)
    parts = [f"{incident.severity.upper()} · {status} · open for {_ago(now - incident.opened_at)}",
             f"{firing} alert{'s' if firing != 1 else ''} firing"]
    if last is not None:
        parts.append(f"last update {_ago(now - last[0])} ago: {last[1][:300]}")
    else:
        parts.append("no update posted yet")
    return " · ".join(parts)
