"""The postmortem as tracked work: started when an incident whose severity asks for one
resolves (owner: the commander; due: the severity's ``postmortem_due`` after resolving),
its clock stopped while the incident is reopened, its owner and due time changed by
people, reminded and escalated by timers, published once.

These run inside the transaction of the change that causes them. Each writes its event
and its announcement itself, after the change's own (the resolve's final update comes
before the postmortem's owner and due), and keeps the postmortem's timers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session

from bot.domain import policy as pol
from bot.domain.due import describe_due
from bot.domain.kinds import ActionKind, EventKind, TimerKind
from storage import alerting as repo
from storage import postmortems, timers
from storage.rows import IncidentRow, NewEvent, PostmortemRow

POSTMORTEM_TIMERS = (TimerKind.POSTMORTEM_REMINDER, TimerKind.POSTMORTEM_OVERDUE)
MAX_LEAD = timedelta(hours=24)


def reminder_lead(due_in: timedelta) -> timedelta:
    """How long before the due time the owner is first reminded, and how long after it an
    unpublished postmortem is escalated: a third of the time given, at most a day."""
    return min(due_in / 3, MAX_LEAD)


@dataclass(frozen=True, slots=True)
class KeepPostmortem:
    """The timer keeping a resolve or a reopen asks for (see ``IncidentChange.keep_timers``):
    start or resume the postmortem's clock, or stop it."""

    on: Literal["resolved", "reopened"]
    command: str = "/incident"

    def __call__(self, session: Session, incident: IncidentRow, now: datetime) -> None:
        tracking = PostmortemTracking(session, incident, "bot", now, self.command)
        if self.on == "resolved":
            tracking.on_resolved()
        else:
            tracking.on_reopened()


class PostmortemTracking:
    """One incident's postmortem within one transaction."""

    def __init__(self, session: Session, incident: IncidentRow, actor: str, now: datetime,
                 command: str = "/incident") -> None:
        self._session, self._incident, self._actor, self._now = session, incident, actor, now
        self._command = command

    @property
    def postmortem(self) -> PostmortemRow | None:
        return postmortems.get(self._session, self._incident.id)

    def on_resolved(self) -> None:
        existing = self.postmortem
        if existing is None:
            self._start(needed=True)
        elif existing.status != "published" and existing.suspended_remaining_seconds is not None:
            due_at = self._now + timedelta(seconds=existing.suspended_remaining_seconds)
            postmortems.change(self._session, self._incident.id, self._now, due_at=due_at,
                               suspended_remaining_seconds=None)
            self._event(EventKind.POSTMORTEM_DUE_CHANGED, {"due_at": due_at.isoformat(), "resumed": True})
            self._announce(f":memo: The postmortem clock runs again: <@{existing.owner}>'s postmortem is due "
                           f"{describe_due(due_at, self._now)}.")
            self._schedule(due_at)

    def on_reopened(self) -> None:
        existing = self.postmortem
        if existing is None or existing.status == "published" or existing.due_at is None:
            return
        remaining = max(existing.due_at - self._now, timedelta(0))
        postmortems.change(self._session, self._incident.id, self._now, due_at=None,
                           suspended_remaining_seconds=remaining.total_seconds())
        timers.cancel(self._session, self._incident.id, POSTMORTEM_TIMERS)
        self._event(EventKind.POSTMORTEM_SUSPENDED, {"remaining_seconds": remaining.total_seconds()})

    def _start(self, owner: str | None = None, *, needed: bool = False) -> PostmortemRow | None:
        """Start the postmortem: when the incident resolves (``needed``: only if its
        severity asks for one), or when a person gives it an owner or publishes it."""
        due_after = pol.postmortem_due(self._incident.policy, self._incident.severity)
        if needed and due_after is None:
            return None
        owner = owner or self._incident.commander or self._incident.declared_by
        if owner is None:
            self._announce(f":memo: This incident needs a postmortem, and it has no owner yet: "
                           f"`{self._command} postmortem owner @someone`.")
            return None
        resolved_at = self._incident.resolved_at or self._now
        due_at = resolved_at + due_after if due_after is not None else None
        row = postmortems.start(self._session, self._incident.id, owner=owner, due_at=due_at, now=self._now)
        self._event(EventKind.POSTMORTEM_STARTED, {"owner": owner, "due_at": due_at.isoformat() if due_at else None})
        if needed and row.due_at is not None:
            self._announce(f":memo: Postmortem owner: <@{owner}>, due {describe_due(row.due_at, self._now)}. "
                           f"Change them with "
                           f"`{self._command} postmortem owner @someone` or `{self._command} postmortem due "
                           f"&lt;YYYY-MM-DD|duration&gt;`; `{self._command} postmortem` uploads the draft, "
                           f"`{self._command} postmortem publish` publishes it.")
        if row.due_at is not None:
            self._schedule(row.due_at)
        return row

    # -- what people change ----------------------------------------------------

    def set_owner(self, owner: str) -> str:
        existing = self.postmortem
        if existing is None:
            if self._start(owner) is None:
                return "This incident has no postmortem."
            self._announce(f":memo: <@{owner}> owns the postmortem (set by <@{self._actor}>).")
            return f"<@{owner}> now owns the postmortem."
        if existing.status == "published":
            return "The postmortem is already published."
        if existing.owner == owner:
            return f"<@{owner}> already owns the postmortem."
        postmortems.change(self._session, self._incident.id, self._now, owner=owner)
        self._event(EventKind.POSTMORTEM_OWNER_CHANGED, {"from": existing.owner, "to": owner})
        self._announce(f":memo: <@{owner}> now owns the postmortem (was <@{existing.owner}>; set by <@{self._actor}>).")
        return f"<@{owner}> now owns the postmortem."

    def set_due(self, due_at: datetime) -> str:
        existing = self.postmortem
        if existing is None:
            return (f"This incident has no postmortem yet; it starts when the incident resolves, or give it an owner "
                    f"with `{self._command} postmortem owner @someone`.")
        if existing.status == "published":
            return "The postmortem is already published."
        suspended = self._incident.status != "resolved"
        values: dict[str, object] = {"escalated_at": None}
        if suspended:
            values["suspended_remaining_seconds"] = (due_at - self._now).total_seconds()
        else:
            values["due_at"] = due_at
        postmortems.change(self._session, self._incident.id, self._now, **values)
        self._event(EventKind.POSTMORTEM_DUE_CHANGED, {"due_at": due_at.isoformat(), "suspended": suspended})
        when = describe_due(due_at, self._now)
        self._announce(f":memo: The postmortem is now due {when} (set by <@{self._actor}>)."
                       + (" Its clock runs once the incident is resolved again." if suspended else ""))
        if not suspended:
            self._schedule(due_at)
        return f"The postmortem is now due {when}."

    def set_in_review(self) -> str:
        existing = self.postmortem
        if existing is None:
            return "This incident has no postmortem."
        if existing.status != "draft":
            return f"The postmortem is already {existing.status.replace('_', ' ')}."
        postmortems.change(self._session, self._incident.id, self._now, status="in_review")
        self._event(EventKind.POSTMORTEM_STATUS_CHANGED, {"from": "draft", "to": "in_review"})
        self._announce(f":memo: <@{self._actor}> put the postmortem up for review.")
        return "The postmortem is in review."

    def publish(self, open_followups: int) -> str:
        existing = self.postmortem
        if self._incident.status != "resolved":
            return "Resolve the incident before publishing its postmortem."
        if existing is None:
            existing = self._start(self._actor)
            if existing is None:
                return "This incident has no postmortem."
        if existing.status == "published":
            return "The postmortem is already published."
        postmortems.change(self._session, self._incident.id, self._now, status="published", published_at=self._now,
                           published_by=self._actor)
        timers.cancel(self._session, self._incident.id, POSTMORTEM_TIMERS)
        on_time = existing.due_at is None or self._now <= existing.due_at
        self._event(EventKind.POSTMORTEM_PUBLISHED, {"on_time": on_time, "open_followups": open_followups,
                                                     "due_at": existing.due_at.isoformat() if existing.due_at else None})
        self._enqueue(ActionKind.POSTMORTEM_PUBLISH, {"open_followups": open_followups})
        reply = "The postmortem is published; the final document is being posted to this channel."
        if open_followups:
            reply += f" {open_followups} follow-up{'s are' if open_followups != 1 else ' is'} still open."
        return reply

    # -- writing ---------------------------------------------------------------

    def _schedule(self, due_at: datetime) -> None:
        resolved_at = self._incident.resolved_at or self._now
        lead = reminder_lead(max(due_at - resolved_at, timedelta(0)))
        timers.cancel(self._session, self._incident.id, POSTMORTEM_TIMERS)
        if due_at - lead > self._now:
            timers.schedule_keyed(self._session, self._incident.id, TimerKind.POSTMORTEM_REMINDER, "stage", "before",
                                  due_at - lead, self._now)
        timers.schedule_keyed(self._session, self._incident.id, TimerKind.POSTMORTEM_REMINDER, "stage", "due",
                              max(due_at, self._now), self._now)
        timers.schedule(self._session, self._incident.id, TimerKind.POSTMORTEM_OVERDUE, max(due_at + lead, self._now),
                        self._now)

    def _event(self, kind: EventKind, data: dict[str, object]) -> None:
        repo.append_events(self._session, self._incident.id, [NewEvent(kind, self._actor, data, occurred_at=self._now,
                                                                       recorded_at=self._now)])

    def _announce(self, text: str) -> None:
        self._enqueue(ActionKind.MESSAGE_POST, {"text": text, "purpose": "postmortem"})

    def _enqueue(self, kind: ActionKind, payload: dict[str, object]) -> None:
        repo.enqueue(self._session, ordering_key=f"incident:{self._incident.id}", incident_id=self._incident.id,
                     kind=kind, payload=payload, now=self._now)
