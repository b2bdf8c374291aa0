"""Repository functions for commanding incidents from Slack."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from storage.dialect import dialect_name, insert_ignoring_conflicts, locked
from storage.models import (
    Alert,
    AlertGroup,
    Incident,
    IncidentEvent,
    Participant,
    PinnedMessage,
    SlackEventSeen,
    table_of,
)
from storage.prepared import Prepared
from storage.results import rows_affected
from storage.rows import EventRow, IncidentRow

# Built once: every webhook delivery to an existing incident locks it.
_INCIDENTS = table_of(Incident)
_BY_ID = select(_INCIDENTS).where(_INCIDENTS.c.id == bindparam("incident_id"))
_OPEN_BY_ID = _BY_ID.where(_INCIDENTS.c.status != "resolved")
# Run on the driver's cursor (storage/prepared.py); FOR UPDATE only where it means something.
_GET, _GET_OPEN = Prepared(_BY_ID), Prepared(_OPEN_BY_ID)
_LOCK_BY_ID, _LOCK_OPEN_BY_ID = Prepared(_BY_ID.with_for_update()), Prepared(_OPEN_BY_ID.with_for_update())
# Also built once: every stakeholder reminder drafts its update from these two.
_EVENTS, _ALERTS = table_of(IncidentEvent), table_of(Alert)
_LAST_UPDATE = (select(_EVENTS.c.occurred_at, _EVENTS.c.data)
                .where(_EVENTS.c.incident_id == bindparam("incident_id"), _EVENTS.c.kind == "update.posted")
                .order_by(_EVENTS.c.occurred_at.desc(), _EVENTS.c.id.desc()).limit(1))
_FIRING_COUNT = (select(func.count()).select_from(_ALERTS)
                 .where(_ALERTS.c.incident_id == bindparam("incident_id"), _ALERTS.c.status == "firing"))


def lock_incident(session: Session, incident_id: int) -> IncidentRow | None:
    """The incident, locked until commit, so that commands, fired timers and webhook
    deliveries on it apply one after another, each seeing the last one's result."""
    return _locked_row(session, _LOCK_BY_ID if _postgresql(session) else _GET, incident_id)


def lock_open_incident(session: Session, incident_id: int) -> IncidentRow | None:
    """The incident if it is not resolved, locked until commit. A resolved one is neither
    returned nor waited for, so a transaction that holds it never blocks this one."""
    return _locked_row(session, _LOCK_OPEN_BY_ID if _postgresql(session) else _GET_OPEN, incident_id)


def _postgresql(session: Session) -> bool:
    return dialect_name(session) == "postgresql"  # SQLite's writer holds the database lock from BEGIN


def _locked_row(session: Session, query: Prepared, incident_id: int) -> IncidentRow | None:
    rows = query.rows(session, {"incident_id": incident_id})
    return IncidentRow(**rows[0]) if rows else None


def incident_id_for_channel(session: Session, channel_id: str) -> int | None:
    """The incident whose Slack channel has this id."""
    row = session.execute(select(Incident.id).where(Incident.channel_id == channel_id))
    return row.scalar_one_or_none()


def open_incidents(session: Session, limit: int = 50) -> list[IncidentRow]:
    rows = session.execute(
        select(Incident).where(Incident.status != "resolved").order_by(Incident.opened_at.desc()).limit(limit))
    return [IncidentRow.from_orm(incident) for incident in rows.scalars()]


def recent_events(session: Session, incident_id: int, limit: int = 30) -> list[EventRow]:
    """The incident's latest ``limit`` timeline events, in order."""
    rows = session.execute(
        select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
        .order_by(IncidentEvent.occurred_at.desc(), IncidentEvent.id.desc()).limit(limit))
    return [EventRow.from_orm(event) for event in reversed(list(rows.scalars()))]


def add_participant(session: Session, incident_id: int, user_id: str, now: datetime) -> bool:
    """Record a participant; True when they were not one already."""
    result = session.execute(
        insert_ignoring_conflicts(session, Participant)
        .values(incident_id=incident_id, user_id=user_id, first_seen_at=now)
        .on_conflict_do_nothing(index_elements=["incident_id", "user_id"]))
    return rows_affected(result) != 0


def first_time_seen(session: Session, event_id: str, now: datetime) -> bool:
    """True the first time a Slack event id is seen; Slack's retries get False."""
    result = session.execute(
        insert_ignoring_conflicts(session, SlackEventSeen).values(event_id=event_id, received_at=now)
        .on_conflict_do_nothing(index_elements=["event_id"]))
    return rows_affected(result) != 0


def add_pin_reaction(session: Session, incident_id: int, message_ts: str, user: str) -> bool:
    """Count one more pin reaction; True when the message was not on the timeline before."""
    session.execute(
        insert_ignoring_conflicts(session, PinnedMessage)
        .values(incident_id=incident_id, message_ts=message_ts, reactors=[], removed_at=None)
        .on_conflict_do_nothing(index_elements=["incident_id", "message_ts"]))
    row = _locked_pin(session, incident_id, message_ts)
    if row is None:
        raise LookupError(f"pinned message {incident_id}/{message_ts} vanished inside its transaction")
    was_on_timeline = bool(row.reactors)
    if user not in row.reactors:
        row_reactors = [*row.reactors, user]
        session.execute(update(PinnedMessage).where(
            PinnedMessage.incident_id == incident_id, PinnedMessage.message_ts == message_ts)
            .values(reactors=row_reactors, removed_at=None))
    return not was_on_timeline


def remove_pin_reaction(session: Session, incident_id: int, message_ts: str, user: str,
                              now: datetime) -> bool:
    """Count one pin reaction fewer; True when that was the last one."""
    row = _locked_pin(session, incident_id, message_ts)
    if row is None or user not in row.reactors:
        return False
    remaining = [r for r in row.reactors if r != user]
    session.execute(update(PinnedMessage).where(
        PinnedMessage.incident_id == incident_id, PinnedMessage.message_ts == message_ts)
        .values(reactors=remaining, removed_at=None if remaining else now))
    return not remaining


def _locked_pin(session: Session, incident_id: int, message_ts: str) -> PinnedMessage | None:
    query = (select(PinnedMessage)
             .where(PinnedMessage.incident_id == incident_id, PinnedMessage.message_ts == message_ts)
             .execution_options(populate_existing=True))
    query = locked(session, query)
    return session.execute(query).scalar_one_or_none()


def last_event_time(session: Session, incident_id: int, kind: str) -> datetime | None:
    row = session.execute(select(IncidentEvent.occurred_at).where(
        IncidentEvent.incident_id == incident_id, IncidentEvent.kind == kind)
        .order_by(IncidentEvent.occurred_at.desc(), IncidentEvent.id.desc()).limit(1))
    return row.scalar_one_or_none()


def last_update_text(session: Session, incident_id: int) -> tuple[datetime, str] | None:
    row = session.execute(_LAST_UPDATE, {"incident_id": incident_id}).first()
    return (row[0], str(row[1].get("text", ""))) if row else None


def firing_count(session: Session, incident_id: int) -> int:
    return int(session.execute(_FIRING_COUNT, {"incident_id": incident_id}).scalar_one())


def group_labels_of(session: Session, incident_id: int) -> list[dict[str, str]]:
    """The group labels of every Alertmanager group that feeds the incident."""
    rows = session.execute(select(AlertGroup.group_labels).where(AlertGroup.incident_id == incident_id)
                           .order_by(AlertGroup.id))
    return [dict(labels) for (labels,) in rows]


def active_silences(session: Session, incident_id: int, now: datetime) -> list[dict[str, object]]:
    """Silences this bot created for the incident that are neither expired nor over."""
    rows = session.execute(select(IncidentEvent.kind, IncidentEvent.data).where(
        IncidentEvent.incident_id == incident_id, IncidentEvent.kind.in_(("silence.created", "silence.expired")))
        .order_by(IncidentEvent.id))
    active: dict[str, dict[str, object]] = {}
    for kind, data in rows:
        if kind == "silence.created":
            active[str(data["id"])] = dict(data)
        else:
            active.pop(str(data["id"]), None)
    return [s for s in active.values() if datetime.fromisoformat(str(s["ends_at"])) > now]


def last_event_about(session: Session, incident_id: int, kinds: Sequence[str], key: str, value: str) -> str | None:
    """The kind of the latest of an incident's events of ``kinds`` whose data has ``key`` = ``value``."""
    row = session.execute(select(IncidentEvent.kind).where(
        IncidentEvent.incident_id == incident_id, IncidentEvent.kind.in_(list(kinds)),
        IncidentEvent.data[key].as_string() == value)
        .order_by(IncidentEvent.id.desc()).limit(1))
    return row.scalar_one_or_none()


def event_data(session: Session, incident_id: int, kind: str) -> list[dict[str, Any]]:
    """The data of every event of one kind on the incident's timeline, oldest first."""
    rows = session.execute(select(IncidentEvent.data).where(
        IncidentEvent.incident_id == incident_id, IncidentEvent.kind == kind).order_by(IncidentEvent.id))
    return [dict(data) for data in rows.scalars() if data is not None]
