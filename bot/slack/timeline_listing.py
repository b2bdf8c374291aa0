"""``/incident timeline`` as blocks: one entry per event, each with a menu to mark it as a
key moment or to correct or hide it, and the form that corrects it. Pure.

Everything from alerts and people is escaped; a message stays within Slack's 50 blocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.domain.timeline_edits import MOMENTS, Edited, TimelineEdits
from bot.slack.blocks import escape
from bot.slack.texts import event_summary
from storage.rows import EventRow

__all__ = ["EDIT_VIEW", "ENTRY_ACTION", "LISTED", "TEXT_KINDS", "TIME_FORMAT", "EntryChoice", "correction",
           "current_text", "edit_view", "entry_text", "listing", "parse_choice", "parse_utc_time"]

LISTED = 40  # entries in one listing: with its two lines of header, well within 50 blocks
ENTRY_ACTION = "timeline_entry"  # the overflow menu's action_id is this, ":" and the event id
EDIT_VIEW = "timeline_edit"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
TEXT_KINDS = frozenset({"note.added", "update.posted", "message.pinned"})  # their text is what a correction replaces
_LABELS = {"detected": "Detected", "identified": "Identified", "mitigated": "Mitigated", "resolved": "Resolved"}


@dataclass(frozen=True, slots=True)
class EntryChoice:
    """What was picked in an entry's menu: ``mark``, ``unmark`` (with a moment) or ``edit``."""

    action: str
    incident_id: int
    event_id: int
    moment: str = ""


def parse_choice(value: str) -> EntryChoice | None:
    parts = value.split(":")
    if len(parts) != 4 or not parts[2].isdigit() or not parts[3].isdigit() or len(value) > 150:
        return None
    action, moment = parts[0], parts[1]
    if action not in ("mark", "unmark", "edit") or (action != "edit" and moment not in MOMENTS):
        return None
    return EntryChoice(action, int(parts[2]), int(parts[3]), moment)


def entry_text(event: EventRow, edited: Edited | None) -> str:
    """What the entry says now, unescaped: a correction in place of the event's text (or,
    for an event without text of its own, in place of the whole summary)."""
    if edited is None or edited.text is None:
        return event_summary(event.kind, event.data)
    if event.kind in TEXT_KINDS:
        return f"{event_summary(event.kind, {})}: {edited.text}"
    return edited.text


def _line(event: EventRow, edits: TimelineEdits) -> str:
    edited = edits.of(event.id)
    actor = f"<@{event.actor}>" if event.actor[:1] in ("U", "W") else escape(event.actor)
    what = f"{escape(entry_text(event, edited)[:500])} ({actor})"
    if edited is not None and edited.corrected:
        what += " _(corrected)_"
    if edited is not None and edited.hidden:
        what = f"~{what}~ _(hidden)_"
    if edited is not None and edited.moments:
        what = f"*[{' · '.join(_LABELS[m] for m in edited.moments)}]* {what}"
    return f"`{edits.time_of(event):%Y-%m-%d %H:%M}` {what}"


def _menu(incident_id: int, event: EventRow, edits: TimelineEdits) -> dict[str, Any]:
    edited = edits.of(event.id)
    options = []
    for moment in MOMENTS:
        holds = edited is not None and moment in edited.moments
        verb = "unmark" if holds else "mark"
        options.append({"text": {"type": "plain_text", "text": f"{'Unmark' if holds else 'Mark'} {moment}"},
                        "value": f"{verb}:{moment}:{incident_id}:{event.id}"})
    options.append({"text": {"type": "plain_text", "text": "Correct or hide…"},
                    "value": f"edit::{incident_id}:{event.id}"})
    return {"type": "overflow", "action_id": f"{ENTRY_ACTION}:{event.id}", "options": options}


def listing(incident_id: int, events: Sequence[EventRow], edits: TimelineEdits,
            more: bool = False) -> tuple[str, list[dict[str, Any]]]:
    """The text (for notifications) and blocks of the listing; ``more`` when older events
    are not listed."""
    if not events:
        return "Nothing on the timeline yet.", []
    ordered = sorted(events, key=lambda e: (edits.time_of(e), e.id))[-LISTED:]
    title = f"*Timeline of incident #{incident_id}* (latest events, UTC)"
    lines = [_line(e, edits) for e in ordered]
    note = "Use ⋯ on an entry to mark it as a key moment, or to correct or hide it."
    if more or len(events) > LISTED:
        note = f"Showing the latest {len(ordered)} events; the postmortem draft has them all. " + note
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": title}},
                                    {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}]
    blocks += [{"type": "section", "block_id": f"timeline_{event.id}", "text": {"type": "mrkdwn", "text": line},
                "accessory": _menu(incident_id, event, edits)} for event, line in zip(ordered, lines, strict=True)]
    return "\n".join([title, *lines]), blocks


def edit_view(incident_id: int, event: EventRow, edits: TimelineEdits) -> dict[str, Any]:
    """The form that corrects an entry's text or time, or hides it."""
    edited = edits.of(event.id)
    hide = {"text": {"type": "plain_text", "text": "Hide this entry from the timeline"}, "value": "hidden"}
    checkbox: dict[str, Any] = {"type": "checkboxes", "action_id": "hidden", "options": [hide]}
    if edited is not None and edited.hidden:
        checkbox["initial_options"] = [hide]
    return {
        "type": "modal", "callback_id": EDIT_VIEW, "private_metadata": f"{incident_id}:{event.id}",
        "title": {"type": "plain_text", "text": "Correct an entry"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [
            {"type": "input", "block_id": "text", "label": {"type": "plain_text", "text": "What happened"},
             "element": {"type": "plain_text_input", "action_id": "text", "multiline": True, "max_length": 1000,
                         "initial_value": current_text(event, edits)}},
            {"type": "input", "block_id": "time", "label": {"type": "plain_text", "text": "When (UTC)"},
             "hint": {"type": "plain_text", "text": "YYYY-MM-DD HH:MM:SS"},
             "element": {"type": "plain_text_input", "action_id": "time", "max_length": 19,
                         "initial_value": f"{edits.time_of(event):{TIME_FORMAT}}"}},
            {"type": "input", "block_id": "hidden", "optional": True, "label": {"type": "plain_text", "text": "Noise"},
             "element": checkbox},
            {"type": "input", "block_id": "reason", "optional": True,
             "label": {"type": "plain_text", "text": "Why (optional)"},
             "element": {"type": "plain_text_input", "action_id": "reason", "max_length": 300}},
        ],
    }


def current_text(event: EventRow, edits: TimelineEdits) -> str:
    """What a correction of the entry would replace, as it reads now: the form starts with
    it, and a submission that leaves it alone corrects nothing."""
    edited = edits.of(event.id)
    if edited is not None and edited.text is not None:
        text = edited.text
    elif event.kind in TEXT_KINDS:
        text = str(event.data.get("text") or "")
    else:
        text = event_summary(event.kind, event.data)
    return text[:1000]


def correction(was_text: str, was_at: datetime, text: str, when: datetime) -> tuple[str | None, datetime | None]:
    """What a submitted correction form changes, from Slack's form or the web's: the text
    if it differs from what the entry said (spaces at the ends aside), the time if it
    differs to the second; None for what stays as it was."""
    new_text = text if text.strip() != was_text.strip() else None
    same_time = f"{when.astimezone(UTC):{TIME_FORMAT}}" == f"{was_at.astimezone(UTC):{TIME_FORMAT}}"
    return new_text, None if same_time else when


def parse_utc_time(text: str) -> datetime | None:
    """A time typed in the form (with or without seconds), in UTC; None if it is not one."""
    for fmt in (TIME_FORMAT, "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None
