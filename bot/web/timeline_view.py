"""What one timeline entry shows on the incident page and in its live stream: the text as
the key-moment fold leaves it (corrected, hidden, marked), people by name, and what the
entry's edit forms start with. Pure: the names are looked up before.

Texts that came from Slack (notes, updates, pinned messages, the role a person was given)
are mrkdwn: ``<@U1>`` becomes ``@name`` and entities are unescaped, so the template's
escaping shows exactly what the person wrote. Texts from alerts and corrections are plain
and are shown as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.domain.kinds import EventKind
from bot.domain.timeline_edits import EDIT_KINDS, MOMENTS, UNEDITABLE_KINDS, TimelineEdits, parse_time
from bot.incident.timeline_editor import MAX_TEXT
from bot.slack.mrkdwn_text import mrkdwn_to_text
from bot.slack.texts import event_summary
from bot.slack.timeline_listing import TEXT_KINDS, entry_text
from storage.rows import EventRow

__all__ = ["INPUT_TIME", "MENTION", "MOMENT_LABELS", "Entry", "current_text", "entry_of", "is_person", "people_in", "shown"]

MOMENT_LABELS = {"detected": "Detected", "identified": "Identified", "mitigated": "Mitigated", "resolved": "Resolved"}
INPUT_TIME = "%Y-%m-%dT%H:%M:%S"  # what <input type="datetime-local" step="1"> holds
MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_PERSON = re.compile(r"[UW][A-Z0-9]{1,20}")
# Kinds whose data names people by bare id, and the keys that hold them.
_PEOPLE_KEYS: dict[str, tuple[str, ...]] = {
    EventKind.COMMANDER_ASSIGNED: ("commander", "user"), EventKind.COMMANDER_CHANGED: ("from", "to"),
    EventKind.COMMANDER_ESCALATED: ("from", "to"), EventKind.ROLE_ASSIGNED: ("user",)}
_MRKDWN_KINDS = TEXT_KINDS | {EventKind.ROLE_ASSIGNED}
_EDIT_WORDS: dict[str, str] = {EventKind.TIMELINE_MARKED: "Marked", EventKind.TIMELINE_UNMARKED: "Unmarked",
               EventKind.TIMELINE_CORRECTED: "Corrected", EventKind.TIMELINE_HIDDEN: "Hid",
               EventKind.TIMELINE_SHOWN: "Showed"}
_SOURCES = {"web": "the web", "slack": "Slack"}


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    kind: str
    at: datetime  # when it happened, as corrected
    actor: str  # a person's name, or who else did it (bot, alertmanager)
    text: str  # plain text; the template escapes it
    moments: tuple[str, ...] = ()  # the key moments it marks, in MOMENTS order
    corrected: bool = False
    corrected_by: str = ""
    original_text: str | None = None  # what it said before a text correction
    original_at: datetime | None = None  # when it said it happened before a time correction
    reason: str = ""  # the latest correction's reason
    hidden: bool = False
    hidden_reason: str = ""
    editable: bool = False  # not a timeline edit or a command
    edit_text: str = ""  # what the correction form starts with
    edit_time: str = ""  # the same, for the time (UTC)
    target: int | None = None  # for a timeline edit: the entry it is about

    @property
    def moment_labels(self) -> tuple[str, ...]:
        return tuple(MOMENT_LABELS[m] for m in self.moments)

    @property
    def unmarked(self) -> tuple[str, ...]:
        return tuple(m for m in MOMENTS if m not in self.moments)


def shown(event: EventRow) -> bool:
    """Whether the event is a timeline entry: commands are recorded for the audit only."""
    return event.kind != EventKind.COMMAND


def is_person(actor: str) -> bool:
    return bool(_PERSON.fullmatch(actor))


def people_in(events: Iterable[EventRow], edits: TimelineEdits) -> set[str]:
    """The Slack user ids the entries name: their actors, the people in their data and
    texts, and who corrected them."""
    found: set[str] = set()
    for event in events:
        if is_person(event.actor):
            found.add(event.actor)
        for key in _PEOPLE_KEYS.get(event.kind, ()):
            value = event.data.get(key)
            if isinstance(value, str) and is_person(value):
                found.add(value)
        if event.kind in _MRKDWN_KINDS:
            found.update(MENTION.findall(str(event.data.get("text") or "")))
        edited = edits.of(event.id)
        if edited is not None and is_person(edited.corrected_by):
            found.add(edited.corrected_by)
    return found


def _name(names: Mapping[str, str], user: str) -> str:
    return names.get(user, user)


def _text(event: EventRow, names: Mapping[str, str]) -> str:
    """What the event says before any correction, as plain text."""
    def name_of(user: str) -> str:
        return _name(names, user)

    if event.kind in TEXT_KINDS:  # the whole text, not the summary's first 200 characters
        return f"{event_summary(event.kind, {})}: {mrkdwn_to_text(str(event.data.get('text') or ''), name_of)}"
    text = event_summary(event.kind, event.data)
    if event.kind == EventKind.COMMANDER_ASSIGNED and isinstance(commander := event.data.get("commander"), str):
        text += f": {commander}"  # replaced by the name below
    if event.kind in _MRKDWN_KINDS:
        return mrkdwn_to_text(text, name_of)
    for key in _PEOPLE_KEYS.get(event.kind, ()):
        value = event.data.get(key)
        if isinstance(value, str) and value in names:
            text = text.replace(value, names[value])
    return text


def current_text(event: EventRow, edits: TimelineEdits, names: Mapping[str, str]) -> str:
    """What a correction of the entry replaces, as the page shows it: the correction form
    starts with it, and a submission that leaves it alone corrects nothing."""
    edited = edits.of(event.id)
    if edited is not None and edited.text is not None:
        text = edited.text
    elif event.kind in TEXT_KINDS:
        text = mrkdwn_to_text(str(event.data.get("text") or ""), lambda user: _name(names, user))
    else:
        text = _text(event, names)
    return text[:MAX_TEXT]


def _edit_text(event: EventRow) -> str:
    """What a timeline edit did, in a line: the entry it is about is linked by the template."""
    data = event.data
    moment = str(data.get("moment") or "")
    words = _EDIT_WORDS.get(event.kind, event.kind)
    if event.kind in (EventKind.TIMELINE_MARKED, EventKind.TIMELINE_UNMARKED):
        what = f"{words} the moment the incident was {moment}" if event.kind == EventKind.TIMELINE_MARKED \
            else f"{words} it as the moment the incident was {moment}"
    elif event.kind == EventKind.TIMELINE_CORRECTED:
        parts = []
        if isinstance(data.get("text"), str):
            parts.append(f"text to “{data['text']}”")
        if (when := parse_time(data.get("occurred_at"))) is not None:
            parts.append(f"time to {when.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC")
        what = f"{words} the " + " and the ".join(parts) if parts else words
    elif event.kind == EventKind.TIMELINE_HIDDEN:
        what = f"{words} it as noise"
    else:
        what = f"{words} it on the timeline again"
    reason = str(data.get("reason") or "")
    source = _SOURCES.get(str(data.get("source") or ""), "")
    return what + (f" because: {reason}" if reason else "") + (f" (from {source})" if source else "")


def entry_of(event: EventRow, edits: TimelineEdits, names: Mapping[str, str]) -> Entry:
    actor = _name(names, event.actor)
    if event.kind in EDIT_KINDS:
        target = event.data.get("event_id")
        return Entry(event.id, event.kind, event.occurred_at, actor, _edit_text(event),
                     target=target if isinstance(target, int) and not isinstance(target, bool) else None)
    edited = edits.of(event.id)
    at = edits.time_of(event)
    original = _text(event, names)
    if edited is None:
        text, corrected = original, False
    else:
        text = entry_text(event, edited) if edited.text is not None else original
        corrected = edited.corrected
    editable = event.kind not in UNEDITABLE_KINDS
    return Entry(
        id=event.id, kind=event.kind, at=at, actor=actor, text=text,
        moments=edited.moments if edited is not None else (),
        corrected=corrected, corrected_by=_name(names, edited.corrected_by) if edited is not None else "",
        original_text=original if edited is not None and edited.text is not None else None,
        original_at=event.occurred_at if edited is not None and edited.occurred_at is not None else None,
        reason=edited.reason if edited is not None else "",
        hidden=edited is not None and edited.hidden, hidden_reason=edited.hidden_reason if edited is not None else "",
        editable=editable, edit_text=current_text(event, edits, names) if editable else "",
        edit_time=f"{at.astimezone(UTC):{INPUT_TIME}}")
