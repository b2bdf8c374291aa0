"""How the timeline's edits show in the draft: corrected text and times, key moments
labelled, hidden events left out (see :mod:`bot.domain.timeline_edits`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from bot.domain.timeline_edits import Edited, TimelineEdits
from bot.postmortem import text as tx
from bot.postmortem.folding import Burst, finish
from bot.postmortem.model import EventRecord
from bot.postmortem.timeline_rows import Row

__all__ = ["MOMENT_LABELS", "corrected_times", "edited_row", "single_row"]

MOMENT_LABELS = {"detected": "Detected", "identified": "Identified", "mitigated": "Mitigated",
                 "resolved": "Resolved"}


def corrected_times(events: Iterable[EventRecord], edits: TimelineEdits) -> Sequence[EventRecord]:
    """The events with each corrected time in place of the stored one."""
    items = events if isinstance(events, (list, tuple)) else list(events)
    if not any(e.occurred_at is not None for e in edits.events.values()):
        return items
    return [replace(event, occurred_at=edits.time_of(event)) if event.id in edits.events else event
            for event in items]


def single_row(event: EventRecord) -> Row:
    """The row of an event of a folded kind shown on its own (it was marked or corrected)."""
    data = event.data or {}
    burst = Burst(Row(event.occurred_at, event.kind, count=0), event.occurred_at, [data], count=1)
    burst.names[data.get("alertname") or "?"] = 1
    burst.people.append(str(data.get("user") or event.actor))
    alerts = data.get("alerts")
    burst.alerts = alerts if isinstance(alerts, int) else 0
    finish(event.kind, burst)
    return burst.row


def edited_row(row: Row, edited: Edited) -> Row:
    """The row with the edits applied: a corrected text replaces the quoted Slack text if
    the row has one, else the line; a corrected row says so; key moments lead the line."""
    if edited.text is not None:
        if row.quote:
            row.quote = tx.quote(edited.text)
        else:
            row.text = tx.one_line(edited.text)
    if edited.corrected:
        if row.text.endswith(":"):
            row.text = row.text[:-1] + " _(corrected)_:"
        else:
            row.text += " _(corrected)_"
    if edited.moments:
        labels = " · ".join(MOMENT_LABELS[m] for m in edited.moments)
        row.text = f"**[{labels}]** {row.text}"
    return row
