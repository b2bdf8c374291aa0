"""What the incident page, its live stream and its forms read: the ids in the path, and
the incident with its alerts, follow-ups, postmortem and one window of its timeline, in
one read transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.orm import Session

from bot.domain.timeline_edits import EDIT_KINDS, TimelineEdits, fold
from storage import alerting, followups, postmortems, timeline, workspace_queries
from storage.rows import AlertRow, EventRow, FollowUpRow, IncidentRow, PostmortemRow, TimelineWindow

WINDOW = 100  # timeline entries on one page
ALERTS_SHOWN = 100
MAX_ID = 2**62


def _number(raw: str, what: str, example: str) -> int:
    if not raw.isdigit() or int(raw) > MAX_ID:
        raise web.HTTPBadRequest(text=f"{what} must be a number (like {example}), not {raw[:20]!r}.")
    return int(raw)


def incident_id_of(request: web.Request) -> int:
    return _number(request.match_info["incident_id"], "The incident id", "/ui/incidents/12")


def event_id_of(request: web.Request) -> int:
    return _number(request.match_info["event_id"], "The timeline entry's id", "/ui/incidents/12/timeline/345/mark")


def before_of(raw: str | None) -> int | None:
    """``?before=<event id>``: the window of entries before it; None for the latest."""
    if raw is None or raw == "":
        return None
    return _number(raw, "before", "?before=345")


def read_edits(session: Session, incident_id: int, events: Iterable[EventRow]) -> TimelineEdits:
    """The fold of every timeline edit of the incident, with ``events`` and the events the
    edits are about (so a mark on an entry outside the window still counts)."""
    return _fold(session, incident_id, list(events))[0]


def _fold(session: Session, incident_id: int, events: list[EventRow]) -> tuple[TimelineEdits, dict[int, EventRow]]:
    edits = timeline.events_of_kinds(session, incident_id, EDIT_KINDS)
    known = {e.id: e for e in events}
    wanted = {t for e in edits if isinstance(t := e.data.get("event_id"), int)} - set(known)
    known.update({e.id: e for e in timeline.events_by_ids(session, incident_id, wanted)})
    return fold([*known.values(), *edits]), known


@dataclass(frozen=True, slots=True)
class IncidentPage:
    incident: IncidentRow
    alerts: list[AlertRow]  # the latest ALERTS_SHOWN
    alert_counts: dict[str, int]  # all of them, by status
    followups: list[FollowUpRow]
    postmortem: PostmortemRow | None
    window: TimelineWindow
    edits: TimelineEdits
    events: dict[int, EventRow]  # the window's events and every edited one, by id


def read_page(session: Session, incident_id: int, before: int | None) -> IncidentPage | None:
    incident = alerting.get_incident(session, incident_id)
    if incident is None:
        return None
    window = workspace_queries.timeline_window(session, incident_id, before_id=before, limit=WINDOW)
    edits, events = _fold(session, incident_id, list(window.events))
    return IncidentPage(
        incident=incident, alerts=workspace_queries.incident_alerts(session, incident_id, limit=ALERTS_SHOWN),
        alert_counts=workspace_queries.alert_counts(session, incident_id),
        followups=followups.of_incident(session, incident_id), postmortem=postmortems.get(session, incident_id),
        window=window, edits=edits, events=events)


def events_by_ids(session: Session, incident_id: int, event_ids: list[int]) -> list[EventRow]:
    return timeline.events_by_ids(session, incident_id, event_ids)
