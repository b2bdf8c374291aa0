"""Reading an incident's timeline events for editing them and listing them in Slack."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import IncidentEvent
from storage.rows import EventRow


def incident_event(session: Session, incident_id: int, event_id: int) -> EventRow | None:
    """The event with this id, if it is on this incident's timeline."""
    event = session.get(IncidentEvent, event_id)
    return EventRow.from_orm(event) if event is not None and event.incident_id == incident_id else None


def events_of_kinds(session: Session, incident_id: int, kinds: Collection[str]) -> list[EventRow]:
    """The incident's events of these kinds, in the order they were recorded."""
    rows = session.execute(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id,
                                                       IncidentEvent.kind.in_([str(k) for k in kinds])))
    # Sorted here, not by the database: asked to order by id, SQLite walks the incident's whole
    # timeline in id order instead of the (incident, kind) index's few entries.
    return sorted((EventRow.from_orm(event) for event in rows.scalars()), key=lambda e: e.id)


def latest_events_except(session: Session, incident_id: int, kinds: Collection[str], limit: int) -> list[EventRow]:
    """The incident's latest ``limit`` events not of these kinds, oldest first."""
    rows = session.execute(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id,
                                                       IncidentEvent.kind.not_in([str(k) for k in kinds]))
                           .order_by(IncidentEvent.occurred_at.desc(), IncidentEvent.id.desc()).limit(limit))
    return [EventRow.from_orm(event) for event in reversed(list(rows.scalars()))]


def events_by_ids(session: Session, incident_id: int, event_ids: Collection[int]) -> list[EventRow]:
    """Those of these events that are on this incident's timeline."""
    if not event_ids:
        return []
    rows = session.execute(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id,
                                                       IncidentEvent.id.in_(list(event_ids))))
    return [EventRow.from_orm(event) for event in rows.scalars()]
