"""Follow-ups (action items): created, closed, rescheduled and reminded, each in the
transaction of the incident change that announces it.

:func:`create_followup` and :func:`close_followup` are the only ways a follow-up is made or
closed, whoever asks (a command, the message shortcut, the web workspace, a tracker sync
with actor ``"tracker"``). The caller holds the incident's lock (``lock_incident``) and
flushes the :class:`IncidentChange` afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from bot.domain.kinds import ActionKind, EventKind, TimerKind
from bot.incident.change import IncidentChange
from bot.incident.tracker_exports import enqueue_export
from bot.playbook.trackers import FollowUpTracker
from bot.slack import followup_texts as words
from storage import followups as store
from storage import incidents, timers
from storage.rows import FollowUpRow

CLOSED_EVENTS = {"done": EventKind.FOLLOWUP_DONE, "dropped": EventKind.FOLLOWUP_DROPPED}
SOURCES = ("command", "shortcut", "web")


def channel_archived(session: Session, change: IncidentChange) -> bool:
    """The incident channel was archived (after resolution): nothing can be posted there."""
    return change.incident.status == "resolved" and \
        incidents.last_event_time(session, change.incident.id, EventKind.CHANNEL_ARCHIVED) is not None


def _announce(session: Session, change: IncidentChange, text: str) -> None:
    if not channel_archived(session, change):
        change.announce(text)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def create_followup(session: Session, change: IncidentChange, *, text: str, owner: str | None,
                    due_at: datetime | None, source: str, message_link: str | None = None,
                    tracker: FollowUpTracker | None = None) -> FollowUpRow:
    """Write a follow-up, its ``followup.added`` event (the change's actor created it), its
    announcement, its reminder and, when ``tracker`` (the playbook's ``followups``) names
    one, its issue's export. ``text`` is already redacted."""
    assert source in SOURCES, source
    incident_id = change.incident.id
    followup = store.add(session, incident_id, text=text, owner=owner, due_at=due_at, created_by=change.actor,
                         source=source, message_link=message_link, now=change.now)
    change.event(EventKind.FOLLOWUP_ADDED, {
        "number": followup.number, "text": text, "owner": owner, "due_at": _iso(due_at), "source": source,
        "message_link": message_link})
    _announce(session, change, words.added(followup, change.actor))
    if due_at is not None:
        timers.schedule_keyed(session, incident_id, TimerKind.FOLLOWUP_DUE, "number", followup.number, due_at,
                              change.now)
    if tracker is not None:
        enqueue_export(session, change.incident, followup, tracker, change.now)
    return followup


def close_followup(session: Session, change: IncidentChange, followup: FollowUpRow, status: str,
                   reason: str = "", *, details: Mapping[str, object] | None = None,
                   announcement: str | None = None) -> bool:
    """Mark an open follow-up done or dropped, record and announce it, stop its reminder.
    False (and nothing written) when it was no longer open. ``details`` join the event's
    data; ``announcement`` replaces the channel's usual line (a tracker sync says why)."""
    if not store.close(session, followup.id, status=status, by=change.actor, reason=reason or None, now=change.now):
        return False
    change.event(CLOSED_EVENTS[status], {"number": followup.number, "reason": reason or None, **(details or {})})
    timers.cancel_keyed(session, followup.incident_id, TimerKind.FOLLOWUP_DUE, "number", followup.number)
    _announce(session, change, announcement or words.closed(followup, change.actor, status, reason))
    return True


def change_due(session: Session, change: IncidentChange, followup: FollowUpRow, due_at: datetime | None) -> bool:
    """Move an open follow-up's due time (None: none) and its reminder with it."""
    if not store.set_due(session, followup.id, due_at=due_at, now=change.now):
        return False
    change.event(EventKind.FOLLOWUP_DUE_CHANGED, {"number": followup.number, "from": _iso(followup.due_at),
                                                  "to": _iso(due_at)})
    if due_at is None:
        timers.cancel_keyed(session, followup.incident_id, TimerKind.FOLLOWUP_DUE, "number", followup.number)
    else:
        timers.schedule_keyed(session, followup.incident_id, TimerKind.FOLLOWUP_DUE, "number", followup.number,
                              due_at, change.now)
    _announce(session, change, words.due_changed(followup, change.actor, due_at))
    return True


def remind(session: Session, change: IncidentChange, number: int, command: str) -> None:
    """A follow-up fell due: remind its owner (a direct message, and the incident channel
    while it is not archived) and record that it is overdue."""
    followup = store.by_number(session, change.incident.id, number)
    if followup is None or followup.status != "open" or followup.due_at is None:
        return
    data: dict[str, object] = {"number": number, "owner": followup.owner, "due_at": _iso(followup.due_at),
                               "text": followup.text}
    text = words.reminder(followup, change.incident.id, change.incident.title, command)
    if followup.owner:
        change.action(ActionKind.MESSAGE_DIRECT, {"user": followup.owner, "text": text})
    _announce(session, change, text)
    change.event(EventKind.FOLLOWUP_REMINDED, data)
    change.event(EventKind.FOLLOWUP_OVERDUE, data)
