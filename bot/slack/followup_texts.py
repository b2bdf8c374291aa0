"""What follow-ups look like in Slack: announcements, the list, reminders. Pure; every
text a person wrote is mrkdwn-escaped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain.due import due_label
from bot.slack.blocks import escape, link
from storage.rows import FollowUpRow

TEXT_SHOWN = 300
LISTING_LIMIT = 3000  # characters of a reply, well within what Slack shows of one message


def _who(user: str | None) -> str:
    if not user:
        return "no owner"
    return f"<@{user}>" if user[:1] in ("U", "W") else escape(user)


def _text(followup: FollowUpRow) -> str:
    text = followup.text if len(followup.text) <= TEXT_SHOWN else followup.text[:TEXT_SHOWN - 1] + "…"
    return escape(text)


def _facts(followup: FollowUpRow) -> str:
    due = f"due {due_label(followup.due_at)}" if followup.due_at else "no due date"
    return f"{_who(followup.owner)} · {due}"


def added(followup: FollowUpRow, actor: str) -> str:
    source = f" from {link(followup.message_link, 'a message')}" if followup.message_link else ""
    return (f":memo: {_who(actor)} added follow-up {followup.number}{source}: {_text(followup)} · "
            f"{_facts(followup)}")


def closed(followup: FollowUpRow, actor: str, status: str, reason: str) -> str:
    if status == "done":
        return f":white_check_mark: {_who(actor)} marked follow-up {followup.number} done: {_text(followup)}"
    why = f" ({escape(reason)})" if reason else ""
    return f":wastebasket: {_who(actor)} dropped follow-up {followup.number}{why}: {_text(followup)}"


def due_changed(followup: FollowUpRow, actor: str, due_at: datetime | None) -> str:
    when = f"due {due_label(due_at)}" if due_at else "without a due date"
    return f":calendar: {_who(actor)} set follow-up {followup.number} {when}: {_text(followup)}"


def reminder(followup: FollowUpRow, incident_id: int, incident_title: str, command: str) -> str:
    who = _who(followup.owner) if followup.owner else "Nobody owns it yet"
    return (f":alarm_clock: {who}: follow-up {followup.number} of incident #{incident_id} "
            f"({escape(incident_title)}) is due: {_text(followup)}. When it is finished, type "
            f"`{command} followup done {followup.number}` in the incident channel.")


def listing(followups: Sequence[FollowUpRow], incident_id: int, now: datetime, command: str) -> str:
    if not followups:
        return f"Incident #{incident_id} has no follow-ups yet. Add one with `{command} followup &lt;text&gt;`."
    lines = [f"*Follow-ups of incident #{incident_id} ({len(followups)})*"]
    for shown, f in enumerate(followups):
        if sum(len(line) + 1 for line in lines) > LISTING_LIMIT:
            lines.append(f"…and {len(followups) - shown} more (all of them: `GET /incidents/{incident_id}/followups`).")
            break
        status = f.status
        if f.status == "open" and f.due_at is not None and f.due_at <= now:
            status = "*overdue*"
        tracker = f" · {link(f.tracker_url, f.tracker_key or f.tracker_url)}" if f.tracker_url else ""
        reason = f" ({escape(f.close_reason)})" if f.status == "dropped" and f.close_reason else ""
        lines.append(f"{f.number}. {_text(f)} · {_facts(f)} · {status}{reason}{tracker}")
    return "\n".join(lines)
