"""What a postmortem's timers do when they fire: remind its owner before the due time and
at it (a direct message, so it reaches them after the channel is archived), and escalate
an unpublished one once to the commander, in the channel and in the playbook's
``postmortem_channel``. A published or suspended postmortem has no pending timers; these
check again anyway, since a timer claimed a moment before publishing may still fire."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.domain import policy as pol
from bot.domain.due import describe_due
from bot.domain.kinds import ActionKind, EventKind
from bot.incident.change import IncidentChange
from bot.slack.blocks import escape
from storage import incidents as store
from storage import postmortems, timers
from storage.rows import PostmortemRow


def _pending(session: Session, change: IncidentChange) -> PostmortemRow | None:
    found = postmortems.get(session, change.incident.id)
    if found is None or found.status == "published" or found.due_at is None:
        return None
    return found


def remind(session: Session, change: IncidentChange, timer: timers.DueTimer, command: str) -> None:
    postmortem = _pending(session, change)
    if postmortem is None or postmortem.due_at is None:
        return
    incident = change.incident
    stage = str(timer.payload.get("stage", "due"))
    where = f"<#{incident.channel_id}>" if incident.channel_id else f"incident #{incident.id}"
    when = "is due now" if stage == "due" else f"is due {describe_due(postmortem.due_at, change.now)}"
    text = (f":memo: The postmortem of incident #{incident.id} ({escape(incident.title)}, {where}) {when}. "
            f"Upload the draft with `{command} postmortem` in the channel and publish it with "
            f"`{command} postmortem publish`.")
    change.event(EventKind.POSTMORTEM_REMINDED, {"owner": postmortem.owner, "stage": stage,
                                                 "due_at": postmortem.due_at.isoformat()})
    change.action(ActionKind.MESSAGE_DIRECT, {"user": postmortem.owner, "text": text})


def escalate(session: Session, change: IncidentChange, timer: timers.DueTimer, command: str) -> None:
    postmortem = _pending(session, change)
    if postmortem is None or postmortem.due_at is None or postmortem.escalated_at is not None:
        return
    incident = change.incident
    postmortems.change(session, incident.id, change.now, escalated_at=change.now)
    late = describe_due(postmortem.due_at, change.now)
    commander = incident.commander or postmortem.owner
    text = (f":rotating_light: The postmortem of incident #{incident.id} ({escape(incident.title)}) is overdue: "
            f"it was due {late}. Owner: <@{postmortem.owner}>. Commander <@{commander}>, please follow up, or set a "
            f"new date with `{command} postmortem due &lt;YYYY-MM-DD|duration&gt;`.")
    change.event(EventKind.POSTMORTEM_OVERDUE, {"owner": postmortem.owner, "commander": commander,
                                                "due_at": postmortem.due_at.isoformat()})
    change.action(ActionKind.MESSAGE_DIRECT, {"user": commander, "text": text})
    archived = store.last_event_time(session, incident.id, EventKind.CHANNEL_ARCHIVED) is not None
    if incident.channel_id and not archived:
        change.announce(text, purpose="postmortem")
    channel = pol.postmortem_channel(incident.policy)
    if channel:
        change.post_elsewhere(channel, text)
