"""Key moments and corrections of an incident's timeline, folded from its events. Pure.

People mark events as the moments the incident was detected, identified, mitigated and
resolved, correct an event's text or time, and hide noise. Each of these is a new event
(``timeline.*``, naming the event it is about), so the stored history stays append-only;
:func:`fold` reads the whole log and says what the timeline looks like now. Edits apply
in the order they were recorded (by event id): the latest wins, and a new mark of a
moment moves it from the event that held it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.domain.kinds import EventKind

__all__ = ["EDIT_KINDS", "MOMENTS", "UNEDITABLE_KINDS", "EditableEvent", "Edited", "Mark", "TimelineEdits",
           "fold", "parse_time"]

MOMENTS = ("detected", "identified", "mitigated", "resolved")
EDIT_KINDS = frozenset({EventKind.TIMELINE_MARKED, EventKind.TIMELINE_UNMARKED, EventKind.TIMELINE_CORRECTED,
                        EventKind.TIMELINE_HIDDEN, EventKind.TIMELINE_SHOWN})
# Events that are never shown on their own, so nothing about them can be edited.
UNEDITABLE_KINDS = EDIT_KINDS | {EventKind.COMMAND}


class EditableEvent(Protocol):
    """What the fold reads of a stored event (a storage row or a postmortem record)."""

    @property
    def id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def data(self) -> Mapping[str, object] | None: ...


@dataclass(frozen=True, slots=True)
class Mark:
    """A moment and the event that marks it."""

    moment: str
    event_id: int
    by: str  # who marked it
    at: datetime  # when they did
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Edited:
    """What the edits say about one event; only events something was done to have one."""

    text: str | None = None  # the corrected text, if corrected
    occurred_at: datetime | None = None  # the corrected time, if corrected
    hidden: bool = False
    moments: tuple[str, ...] = ()  # the moments this event marks, in MOMENTS order
    corrected_by: str = ""
    reason: str = ""  # the latest correction's reason
    hidden_reason: str = ""

    @property
    def corrected(self) -> bool:
        return self.text is not None or self.occurred_at is not None


@dataclass(frozen=True, slots=True)
class TimelineEdits:
    """The timeline as its edits leave it."""

    marks: Mapping[str, Mark] = field(default_factory=dict)  # moment -> its mark
    events: Mapping[int, Edited] = field(default_factory=dict)  # event id -> what was done to it

    def of(self, event_id: int) -> Edited | None:
        return self.events.get(event_id)

    def hidden(self, event_id: int) -> bool:
        edited = self.events.get(event_id)
        return edited is not None and edited.hidden

    def time_of(self, event: EditableEvent) -> datetime:
        """When the event happened, as last corrected."""
        edited = self.events.get(event.id)
        return edited.occurred_at if edited is not None and edited.occurred_at is not None else event.occurred_at


def parse_time(value: object) -> datetime | None:
    """An aware datetime from an ISO 8601 string (as edits store times), else None."""
    if isinstance(value, datetime):
        return value if value.utcoffset() is not None else None
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.utcoffset() is not None else None


def _target(data: Mapping[str, object]) -> int | None:
    value = data.get("event_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def fold(events: Iterable[EditableEvent]) -> TimelineEdits:
    """The effective edits of an incident's events (any order). Edits naming an event
    that is not among ``events``, or one that cannot be edited, are ignored."""
    targets: dict[int, str] = {}
    edits: list[EditableEvent] = []
    for event in events:
        if event.kind in EDIT_KINDS:
            edits.append(event)
        else:
            targets[event.id] = event.kind
    edits.sort(key=lambda e: e.id)
    marks: dict[str, Mark] = {}
    texts: dict[int, str] = {}
    times: dict[int, datetime] = {}
    hidden: set[int] = set()
    corrected_by: dict[int, str] = {}
    reasons: dict[int, str] = {}
    hidden_reasons: dict[int, str] = {}
    for edit in edits:
        data = edit.data or {}
        target = _target(data)
        if target is None or targets.get(target, EventKind.COMMAND) in UNEDITABLE_KINDS:
            continue
        reason = str(data.get("reason") or "")
        kind = edit.kind
        if kind in (EventKind.TIMELINE_MARKED, EventKind.TIMELINE_UNMARKED):
            moment = data.get("moment")
            if moment not in MOMENTS:
                continue
            assert isinstance(moment, str)
            if kind == EventKind.TIMELINE_MARKED:
                marks[moment] = Mark(moment, target, edit.actor, edit.occurred_at, reason)
            elif moment in marks and marks[moment].event_id == target:
                del marks[moment]
        elif kind == EventKind.TIMELINE_CORRECTED:
            text, when = data.get("text"), parse_time(data.get("occurred_at"))
            if isinstance(text, str) and text.strip():
                texts[target] = text
            if when is not None:
                times[target] = when
            corrected_by[target], reasons[target] = edit.actor, reason
        elif kind == EventKind.TIMELINE_HIDDEN:
            hidden.add(target)
            hidden_reasons[target] = reason
        else:
            hidden.discard(target)
    moments: dict[int, list[str]] = {}
    for moment in MOMENTS:
        if moment in marks:
            moments.setdefault(marks[moment].event_id, []).append(moment)
    touched = set(texts) | set(times) | hidden | set(moments)
    return TimelineEdits(
        marks={m: marks[m] for m in MOMENTS if m in marks},
        events={event_id: Edited(texts.get(event_id), times.get(event_id), event_id in hidden,
                                 tuple(moments.get(event_id, ())), corrected_by.get(event_id, ""),
                                 reasons.get(event_id, ""), hidden_reasons.get(event_id, "") if event_id in hidden else "")
                for event_id in sorted(touched)})
