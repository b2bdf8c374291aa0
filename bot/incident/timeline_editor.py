"""Marking key moments on an incident's timeline, correcting events and hiding noise.

The one place these edits are made, from Slack now and from the web workspace later:
each call locks the incident, checks the person may edit its timeline (the playbook's
``permissions.resolve`` rule: the people who may set it resolved), checks the input, and
appends one ``timeline.*`` event with the person as actor, in one transaction. Stored
events are never changed; :func:`bot.domain.timeline_edits.fold` reads the result.
Refusals raise :class:`TimelineEditError` with one line to show, and write nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.domain.kinds import EventKind
from bot.domain.redaction import redactor
from bot.domain.timeline_edits import EDIT_KINDS, MOMENTS, UNEDITABLE_KINDS, TimelineEdits, fold
from bot.incident import permits
from bot.incident.change import IncidentChange, Payload
from bot.playbook import Playbook, PlaybookSet
from storage import incidents as store
from storage import timeline as timeline_store
from storage.database import Database
from storage.rows import EventRow, IncidentRow

__all__ = ["EDIT_RULE", "MAX_REASON", "MAX_TEXT", "TimelineEditError", "TimelineEditor", "listed_timeline"]

EDIT_RULE = "resolve"  # the playbook permission that also governs editing the timeline
MAX_TEXT = 1000
MAX_REASON = 300
SOURCES = ("slack", "web")


class TimelineEditError(ValueError):
    """Why the edit was refused, in one line for the person; nothing was written.
    ``field`` names the input at fault (``text``, ``time``, ``reason``), if one is."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class _Target:
    incident: IncidentRow
    event: EventRow
    edits: TimelineEdits
    playbook: Playbook | None


class TimelineEditor:
    def __init__(self, db: Database, playbooks: Callable[[], PlaybookSet], clock: Clock,
                 on_commit: Callable[[], None], group_members: permits.GroupMembers | None = None) -> None:
        self._db = db
        self._playbooks = playbooks
        self._clock = clock
        self._on_commit = on_commit
        self._group_members = group_members

    async def mark(self, incident_id: int, event_id: int, moment: str, *, actor: str, source: str,
                   reason: str = "") -> str:
        """Mark the event as the moment the incident was ``moment`` (moving an earlier mark)."""
        if moment not in MOMENTS:
            raise TimelineEditError(f"`{moment[:30]}` is not a key moment; use one of {', '.join(MOMENTS)}.")

        def build(target: _Target) -> tuple[EventKind, Payload, str]:
            mark = target.edits.marks.get(moment)
            if mark is not None and mark.event_id == event_id:
                raise TimelineEditError(f"This event already marks when the incident was {moment}.")
            moved = f" (moved from event {mark.event_id})" if mark is not None else ""
            return (EventKind.TIMELINE_MARKED, {"event_id": event_id, "moment": moment},
                    f"Marked as the moment the incident was {moment}{moved}.")
        return await self._edit(incident_id, event_id, actor, source, reason, build)

    async def unmark(self, incident_id: int, event_id: int, moment: str, *, actor: str, source: str,
                     reason: str = "") -> str:
        def build(target: _Target) -> tuple[EventKind, Payload, str]:
            mark = target.edits.marks.get(moment)
            if mark is None or mark.event_id != event_id:
                raise TimelineEditError(f"This event does not mark when the incident was {moment[:30]}.")
            return (EventKind.TIMELINE_UNMARKED, {"event_id": event_id, "moment": moment},
                    f"No longer marked as the moment the incident was {moment}.")
        return await self._edit(incident_id, event_id, actor, source, reason, build)

    async def correct(self, incident_id: int, event_id: int, *, actor: str, source: str, text: str | None = None,
                      occurred_at: datetime | None = None, reason: str = "") -> str:
        """Correct what the event says (its text) and/or when it happened."""
        if text is not None:
            text = text.strip()
            if not text:
                raise TimelineEditError("The corrected text is empty; write what the event should say.", "text")
            if len(text) > MAX_TEXT:
                raise TimelineEditError(f"The corrected text is {len(text)} characters; at most {MAX_TEXT}.", "text")
        if occurred_at is not None and occurred_at.utcoffset() is None:
            raise TimelineEditError("The corrected time has no time zone; give it in UTC.", "time")

        def build(target: _Target) -> tuple[EventKind, Payload, str]:
            if text is None and occurred_at is None:
                raise TimelineEditError("Nothing to correct: give a new text or a new time.")
            data: Payload = {"event_id": event_id}
            done = []
            if text is not None:
                data["text"] = _redact(target.playbook, text)
                done.append("text")
            if occurred_at is not None:
                earliest = min(target.incident.opened_at, target.event.occurred_at)
                if occurred_at > self._clock():
                    raise TimelineEditError("The corrected time is in the future.", "time")
                if occurred_at < earliest:
                    raise TimelineEditError(f"The corrected time is before the incident opened "
                                            f"({earliest:%Y-%m-%d %H:%M} UTC).", "time")
                data["occurred_at"] = occurred_at.astimezone(UTC).isoformat()
                done.append("time")
            return EventKind.TIMELINE_CORRECTED, data, f"Corrected the event's {' and '.join(done)}."
        return await self._edit(incident_id, event_id, actor, source, reason, build)

    async def hide(self, incident_id: int, event_id: int, *, actor: str, source: str, reason: str = "") -> str:
        """Leave the event out of the timeline people read (it stays stored)."""
        def build(target: _Target) -> tuple[EventKind, Payload, str]:
            if target.edits.hidden(event_id):
                raise TimelineEditError("This event is already hidden.")
            return EventKind.TIMELINE_HIDDEN, {"event_id": event_id}, "Hidden from the timeline."
        return await self._edit(incident_id, event_id, actor, source, reason, build)

    async def show(self, incident_id: int, event_id: int, *, actor: str, source: str, reason: str = "") -> str:
        def build(target: _Target) -> tuple[EventKind, Payload, str]:
            if not target.edits.hidden(event_id):
                raise TimelineEditError("This event is not hidden.")
            return EventKind.TIMELINE_SHOWN, {"event_id": event_id}, "Shown on the timeline again."
        return await self._edit(incident_id, event_id, actor, source, reason, build)

    async def entry(self, incident_id: int, event_id: int) -> tuple[EventRow, TimelineEdits] | None:
        """The editable event and what the incident's edits say, or None if there is none."""
        async with self._db.reading() as session:
            event = await session.run_sync(timeline_store.incident_event, incident_id, event_id)
            if event is None or event.kind in UNEDITABLE_KINDS:
                return None
            edits = await session.run_sync(timeline_store.events_of_kinds, incident_id, EDIT_KINDS)
        return event, fold([event, *edits])

    async def _edit(self, incident_id: int, event_id: int, actor: str, source: str, reason: str,
                    build: Callable[[_Target], tuple[EventKind, Payload, str]]) -> str:
        if source not in SOURCES:
            raise TimelineEditError(f"Unknown source `{source[:20]}`.")
        reason = reason.strip()
        if len(reason) > MAX_REASON:
            raise TimelineEditError(f"The reason is {len(reason)} characters; at most {MAX_REASON}.", "reason")
        now = self._clock()
        async with self._db.transaction() as session:
            incident = await session.run_sync(store.lock_incident, incident_id)
            if incident is None:
                raise TimelineEditError(f"There is no incident #{incident_id}.")
            playbook = self._playbook(incident.playbook)
            refusal = await permits.refusal(EDIT_RULE, "edit the timeline", incident, actor, playbook,
                                            self._group_members)
            if refusal is not None:
                raise TimelineEditError(refusal)
            event = await session.run_sync(timeline_store.incident_event, incident_id, event_id)
            if event is None or event.kind in UNEDITABLE_KINDS:
                raise TimelineEditError(f"Event {event_id} is not on the timeline of incident #{incident_id}.")
            edits = await session.run_sync(timeline_store.events_of_kinds, incident_id, EDIT_KINDS)
            targets = {e.data.get("event_id") for e in edits} - {event_id}
            others = await session.run_sync(timeline_store.events_by_ids, incident_id,
                                            [t for t in targets if isinstance(t, int)])
            kind, data, done = build(_Target(incident, event, fold([event, *others, *edits]), playbook))
            change = IncidentChange(incident, actor, now)
            change.event(kind, {**data, "reason": _redact(playbook, reason), "source": source})
            await session.run_sync(change.flush)
        self._on_commit()
        return done

    def _playbook(self, name: str) -> Playbook | None:
        try:
            return self._playbooks().get(name)
        except KeyError:
            return None


def listed_timeline(session: Session, incident_id: int, limit: int) -> tuple[list[EventRow], TimelineEdits, bool]:
    """The incident's latest ``limit`` editable events, what their edits say, and whether
    there are older ones."""
    events = timeline_store.latest_events_except(session, incident_id, UNEDITABLE_KINDS, limit + 1)
    edits = timeline_store.events_of_kinds(session, incident_id, EDIT_KINDS)
    return events[-limit:], fold([*events, *edits]), len(events) > limit


def _redact(playbook: Playbook | None, text: str) -> str:
    return redactor(playbook.redact_patterns if playbook is not None else ()).redact(text)
