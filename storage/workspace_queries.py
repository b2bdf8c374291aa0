"""Reads for the web workspace's pages: the incident list, timeline windows, an incident's
alerts and the follow-ups board.

Timeline reads are keyset windows on (incident_id, id): their cost depends on the window,
not on how long the timeline is.

Event ids come from one sequence and are taken at INSERT, not at commit. On SQLite one
writer does both in turn, so ids appear in order. On PostgreSQL, writers that do not hold
the incident's lock (the outbox worker recording what it did or what failed, pins, joins)
can commit an event after another transaction's higher id is already visible: a live
stream that resumes strictly after the last id it sent can miss it. Such a stream should
ask again from an id it sent some seconds earlier and drop the ids it has sent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from storage import followups
from storage.models import Alert, FollowUp, Incident, IncidentEvent, table_of
from storage.rows import AlertRow, BoardFollowUp, EventRow, FollowUpRow, IncidentRow, IncidentsPage, TimelineWindow

# Core tables, not ORM entities, for the rows a page shows: no identity map, no instances.
_INCIDENTS, _EVENTS, _ALERTS = table_of(Incident), table_of(IncidentEvent), table_of(Alert)

STATUS_FILTERS = ("open", "resolved")  # open: any status but resolved
MAX_PER_PAGE = 200
MAX_WINDOW = 1000
SEARCH_MAX = 200  # characters of a title search (a title has at most 200)


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must be from {low} to {high}, not {value}")


def _incident_filters(status: str | None, severity: str | None, route: str | None,
                      search: str | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if status == "open":
        where.append(Incident.status != "resolved")
    elif status == "resolved":
        where.append(Incident.status == "resolved")
    elif status is not None:
        raise ValueError(f"status must be 'open', 'resolved' or None, not {status!r}")
    if severity is not None:
        where.append(Incident.severity == severity)
    if route is not None:
        where.append(Incident.route == route)
    if search is not None and search.strip():
        if len(search) > SEARCH_MAX:
            raise ValueError(f"search is {len(search)} characters long, at most {SEARCH_MAX}")
        # autoescape: the person's % and _ (and the escape character) match only themselves.
        where.append(Incident.title.icontains(search.strip(), autoescape=True))
    return where


def incidents_list(session: Session, *, status: str | None, severity: str | None,
                   route: str | None, search: str | None, page: int, per_page: int) -> IncidentsPage:
    """Incidents matching every filter given, newest first, ``per_page`` to a page from page 1.
    ``status`` "open" is any not resolved; ``search``: a case-insensitive part of the title."""
    _check_range("page", page, 1, 1_000_000)
    _check_range("per_page", per_page, 1, MAX_PER_PAGE)
    where = _incident_filters(status, severity, route, search)
    rows = session.execute(select(_INCIDENTS).where(*where).order_by(_INCIDENTS.c.id.desc())
                           .offset((page - 1) * per_page).limit(per_page + 1)).all()
    total = int(session.execute(select(func.count()).select_from(Incident).where(*where)).scalar_one())
    return IncidentsPage(rows=tuple(IncidentRow.from_orm(r) for r in rows[:per_page]), total=total,
                         has_next=len(rows) > per_page, page=page, per_page=per_page)


def list_facets(session: Session) -> tuple[list[str], list[str]]:
    """(severities, routes) that incidents have, each distinct and sorted, for the list's filters."""
    severities = session.execute(select(Incident.severity).distinct().order_by(Incident.severity)).scalars()
    routes = session.execute(select(Incident.route).distinct().order_by(Incident.route)).scalars()
    return list(severities), list(routes)


def timeline_window(session: Session, incident_id: int, *, before_id: int | None, limit: int) -> TimelineWindow:
    """The latest ``limit`` events of the timeline (by id) before ``before_id``, or the
    latest of all with None; oldest first. The next window back is ``before_id=window.oldest_id``."""
    _check_range("limit", limit, 1, MAX_WINDOW)
    query = select(_EVENTS).where(_EVENTS.c.incident_id == incident_id)
    if before_id is not None:
        query = query.where(_EVENTS.c.id < before_id)
    rows = session.execute(query.order_by(_EVENTS.c.id.desc()).limit(limit + 1)).all()
    return TimelineWindow(events=tuple(EventRow.from_orm(e) for e in reversed(rows[:limit])),
                          has_older=len(rows) > limit)


def events_after(session: Session, incident_id: int, after_id: int, limit: int) -> list[EventRow]:
    """Up to ``limit`` events recorded after the event ``after_id``, oldest first."""
    _check_range("limit", limit, 1, MAX_WINDOW)
    rows = session.execute(select(_EVENTS).where(_EVENTS.c.incident_id == incident_id, _EVENTS.c.id > after_id)
                           .order_by(_EVENTS.c.id).limit(limit))
    return [EventRow.from_orm(e) for e in rows]


def latest_event_id(session: Session, incident_id: int) -> int | None:
    """The id of the incident's newest event (where a live stream starts), None if it has none."""
    found = session.execute(select(IncidentEvent.id).where(IncidentEvent.incident_id == incident_id)
                            .order_by(IncidentEvent.id.desc()).limit(1)).scalar_one_or_none()
    return int(found) if found is not None else None


def incident_alerts(session: Session, incident_id: int, *, limit: int = 200) -> list[AlertRow]:
    """The incident's alerts, firing and resolved, latest activation first."""
    _check_range("limit", limit, 1, MAX_WINDOW)
    rows = session.execute(select(_ALERTS).where(_ALERTS.c.incident_id == incident_id)
                           .order_by(_ALERTS.c.starts_at.desc(), _ALERTS.c.id.desc()).limit(limit))
    return [AlertRow.from_orm(a) for a in rows]


def alert_counts(session: Session, incident_id: int) -> dict[str, int]:
    """How many of the incident's alerts are in each status (firing, resolved): the whole
    count when ``incident_alerts`` lists only the latest."""
    rows = session.execute(select(Alert.status, func.count()).where(Alert.incident_id == incident_id)
                           .group_by(Alert.status))
    return {str(status): int(count) for status, count in rows}


def followups_board(session: Session, *, status: str | None, owner: str | None, limit: int,
                    overdue_at: datetime | None = None) -> list[BoardFollowUp]:
    """Follow-ups across incidents with their incident, in ``followups.listing``'s order
    (oldest due first, those without a due date last); ``owner``: a Slack user id."""
    _check_range("limit", limit, 1, MAX_WINDOW)
    query = followups.listing(
        select(FollowUp, Incident.title, Incident.status, Incident.severity).join(Incident,
                                                                                Incident.id == FollowUp.incident_id),
        status=status, owner=owner, overdue_at=overdue_at)
    return [BoardFollowUp(followup=FollowUpRow.from_orm(f), incident_id=f.incident_id, incident_title=title,
                          incident_status=incident_status, incident_severity=severity)
            for f, title, incident_status, severity in session.execute(query.limit(limit))]
