"""Repository functions for the webhook path: groups, alerts, incidents, events, outbox.

Plain values in, plain values out, so the application never sees SQLAlchemy. Every
function runs inside the caller's transaction (``Database.transaction()``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Select, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from storage.dialect import dialect_name, insert_ignoring_conflicts, locked
from storage.models import (
    Alert,
    AlertGroup,
    Incident,
    IncidentEvent,
    OutboxAction,
    StormWindow,
    WebhookDelivery,
    table_of,
)
from storage.prepared import Prepared
from storage.rows import AlertGroupRow, IncidentRow, NewEvent

# Keep IN lists well under both SQLite's and asyncpg's bound-parameter limits.
_CHUNK = 500

# Statements built once and run on the driver's cursor (storage/prepared.py): a webhook
# delivery runs a dozen of them, and SQLAlchemy's per-execute work was most of its cost.
_INCIDENTS, _GROUPS, _ALERTS = table_of(Incident), table_of(AlertGroup), table_of(Alert)
_EVENTS = table_of(IncidentEvent)
_INSERT_INCIDENT = Prepared(insert(_INCIDENTS).returning(_INCIDENTS.c.id))
# No RETURNING: SQLite would then insert the rows one statement each, to keep their order.
_INSERT_EVENTS = Prepared(insert(_EVENTS))
_INSERT_OUTBOX = Prepared(insert(table_of(OutboxAction)))
_INSERT_DELIVERY = Prepared(insert(table_of(WebhookDelivery)))
_INCIDENT_BY_ID = Prepared(select(_INCIDENTS).where(_INCIDENTS.c.id == bindparam("incident_id")))
_GROUP_BY_ID = select(_GROUPS).where(_GROUPS.c.id == bindparam("group_id"))
_FIRING_ALERTS = select(_ALERTS.c.fingerprint, _ALERTS.c.starts_at).where(
    _ALERTS.c.incident_id == bindparam("incident_id"), _ALERTS.c.status == "firing")
_FIRING_ALERTS_PREPARED = Prepared(_FIRING_ALERTS)
_FIRING_ALERTS_UP_TO = Prepared(_FIRING_ALERTS.limit(bindparam("limit")))
_RESOLVE_ALERTS = Prepared(update(_ALERTS).where(
    _ALERTS.c.fingerprint == bindparam("fp"), _ALERTS.c.starts_at == bindparam("sa"),
).values(status="resolved", ends_at=bindparam("ea"), resolved_seen_at=bindparam("seen")))
# Built on first use, per dialect (the upserts), per set of columns changed (the updates) or
# per number of fingerprints looked up (a Prepared takes no expanding IN list).
_updates: dict[tuple[str, frozenset[str]], Prepared] = {}
_group_upserts: dict[str, Prepared] = {}
_alert_inserts: dict[str, Prepared] = {}
_by_fingerprints: dict[int, Prepared] = {}
_storm_locks: dict[str, tuple[Insert, Select[int | None]]] = {}


def _update_by_id(table: Table, row_id: int, values: dict[str, Any]) -> tuple[Prepared, dict[str, Any]]:
    key = (table.name, frozenset(values))
    stmt = _updates.get(key)
    if stmt is None:
        stmt = _updates[key] = Prepared(update(table).where(table.c.id == bindparam("_row_id")).values(
            {name: bindparam(name) for name in values}))
    return stmt, {**values, "_row_id": row_id}


def _alerts_by_fingerprints(count: int) -> Prepared:
    stmt = _by_fingerprints.get(count)
    if stmt is None:
        stmt = _by_fingerprints[count] = Prepared(
            select(_ALERTS.c.fingerprint, _ALERTS.c.starts_at, _ALERTS.c.status).where(
                _ALERTS.c.fingerprint.in_([bindparam(f"fp{i}") for i in range(count)])))
    return stmt


@dataclass(frozen=True, slots=True)
class GroupRow:
    id: int
    incident_id: int | None
    route: str | None
    previous_body_sha256: str | None  # of the delivery before this one; None for a new group


def lock_group(session: Session, *, group_key: str, receiver: str, group_labels: dict[str, str],
               status: str, body_sha256: str, now: datetime) -> GroupRow:
    """Create or touch the group row with this delivery's status and body, locking it for
    the rest of the transaction; what it held before comes back.

    Concurrent deliveries of one group queue here, in this process or another, so
    each sees the previous one's incident and none opens a second. (On PostgreSQL an
    ``ON CONFLICT DO UPDATE`` locks the existing row; SQLite's writer holds the lock.)
    ``RETURNING`` gives the row as updated, so the body it had is moved to
    ``previous_body_sha256`` by the same update (SET reads the row as it was).
    """
    dialect = dialect_name(session)
    stmt = _group_upserts.get(dialect)
    if stmt is None:
        base = insert_ignoring_conflicts(session, AlertGroup)
        upsert = base.on_conflict_do_update(
            index_elements=["group_key"],
            set_={"last_seen_at": base.excluded.last_seen_at, "last_status": base.excluded.last_status,
                  "previous_body_sha256": _GROUPS.c.last_body_sha256,
                  "last_body_sha256": base.excluded.last_body_sha256},
        ).returning(_GROUPS.c.id, _GROUPS.c.incident_id, _GROUPS.c.route, _GROUPS.c.previous_body_sha256)
        stmt = _group_upserts[dialect] = Prepared(upsert)
    [(group_id, incident_id, route, previous)] = stmt.values(session, {
        "group_key": group_key, "receiver": receiver, "group_labels": group_labels, "last_status": status,
        "first_seen_at": now, "last_seen_at": now, "last_body_sha256": body_sha256,
    })
    return GroupRow(group_id, incident_id, route, previous)


def alerts_by_fingerprint(session: Session, fingerprints: Iterable[str]) -> dict[str, list[tuple[datetime, str]]]:
    """Every stored (startsAt, status) for each of the given fingerprints."""
    found: dict[str, list[tuple[datetime, str]]] = {}
    ordered = sorted(set(fingerprints))
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start:start + _CHUNK]
        rows = _alerts_by_fingerprints(len(chunk)).values(session, {f"fp{i}": fp for i, fp in enumerate(chunk)})
        for fp, starts_at, status in rows:
            found.setdefault(fp, []).append((starts_at, status))
    return found


def get_incident(session: Session, incident_id: int) -> IncidentRow | None:
    """The incident as it is now: read with Core, so never a stale copy from the session's
    identity map after a Core UPDATE (and cheaper than loading the ORM object)."""
    rows = _INCIDENT_BY_ID.rows(session, {"incident_id": incident_id})
    return IncidentRow(**rows[0]) if rows else None


def firing_alerts(session: Session, incident_id: int, up_to: int | None = None) -> list[tuple[str, datetime]]:
    """(fingerprint, startsAt) of the incident's firing alerts: all, or at most ``up_to``."""
    if up_to is None:
        rows = _FIRING_ALERTS_PREPARED.values(session, {"incident_id": incident_id})
    else:
        rows = _FIRING_ALERTS_UP_TO.values(session, {"incident_id": incident_id, "limit": up_to})
    return [(fp, starts_at) for fp, starts_at in rows]


def insert_incident(session: Session, /, **values: Any) -> int:
    [(incident_id,)] = _INSERT_INCIDENT.values(session, {"roles": {}, **values})  # the model's default
    return int(incident_id)


def update_incident(session: Session, incident_id: int, /, **values: Any) -> None:
    stmt, params = _update_by_id(_INCIDENTS, incident_id, values)
    stmt.execute(session, params)


def update_group(session: Session, group_id: int, /, **values: Any) -> None:
    stmt, params = _update_by_id(_GROUPS, group_id, values)
    stmt.execute(session, params)


def insert_alerts(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert new alerts; an identity another transaction stored first is left alone."""
    if not rows:
        return
    dialect = dialect_name(session)
    stmt = _alert_inserts.get(dialect)
    if stmt is None:
        stmt = _alert_inserts[dialect] = Prepared(insert_ignoring_conflicts(
            session, Alert).on_conflict_do_nothing(index_elements=["fingerprint", "starts_at"]))
    stmt.execute_many(session, rows)


def resolve_alerts(session: Session, resolved: Iterable[tuple[str, datetime, datetime | None]],
                         now: datetime) -> None:
    """Mark known alerts resolved: (fingerprint, startsAt, endsAt) each."""
    params = [{"fp": fp, "sa": starts_at, "ea": ends_at, "seen": now} for fp, starts_at, ends_at in resolved]
    _RESOLVE_ALERTS.execute_many(session, params)


def append_events(session: Session, incident_id: int, events: Sequence[NewEvent]) -> None:
    """Append timeline events, in order (ids ascending)."""
    _INSERT_EVENTS.execute_many(session, [event.values(incident_id) for event in events])


def _no_trace_context() -> dict[str, str] | None:
    return None


# Where enqueue finds the trace context of the work in progress when its caller passes none:
# the application sets it when tracing is on (plain strings, so storage knows no tracer).
_trace_context_source: Callable[[], dict[str, str] | None] = _no_trace_context


def set_trace_context_source(source: Callable[[], dict[str, str] | None] | None) -> None:
    """Have every action enqueued from now on carry ``source()`` (None: carry nothing)."""
    global _trace_context_source  # noqa: PLW0603 - one process-wide hook, set once at start-up
    _trace_context_source = source or _no_trace_context


def enqueue(session: Session, *, ordering_key: str, kind: str, payload: dict[str, Any],
                  now: datetime, incident_id: int | None = None, trace_context: dict[str, str] | None = None) -> None:
    """Add an action to the outbox, delivered after this transaction commits."""
    enqueue_many(session, ordering_key=ordering_key, actions=[(kind, payload)], now=now, incident_id=incident_id,
                 trace_context=trace_context)


def enqueue_many(session: Session, *, ordering_key: str, actions: Sequence[tuple[str, dict[str, Any]]],
                       now: datetime, incident_id: int | None = None,
                       trace_context: dict[str, str] | None = None) -> None:
    """Add several actions to the outbox, delivered in this order after commit, each
    carrying ``trace_context`` (by default that of the work in progress)."""
    enqueue_keyed(session, actions=[(ordering_key, kind, payload) for kind, payload in actions], now=now,
                  incident_id=incident_id, trace_context=trace_context)


def enqueue_keyed(session: Session, *, actions: Sequence[tuple[str, str, dict[str, Any]]], now: datetime,
                  incident_id: int | None = None, trace_context: dict[str, str] | None = None) -> None:
    """Add ``(ordering key, kind, payload)`` actions to the outbox in one statement: each
    key's actions are delivered in the order given, after commit."""
    if not actions:
        return
    context = trace_context if trace_context is not None else _trace_context_source()
    _INSERT_OUTBOX.execute_many(session, [
        {"ordering_key": ordering_key, "incident_id": incident_id, "kind": str(kind), "payload": payload,
         "state": "pending", "attempts": 0, "available_at": now, "created_at": now, "trace_context": context}
        for ordering_key, kind, payload in actions
    ])


def record_delivery(session: Session, /, **values: Any) -> None:
    _INSERT_DELIVERY.execute(session, values)


def firing_alert_details(session: Session, incident_id: int) -> list[tuple[dict[str, str], dict[str, str], str, bool]]:
    """(labels, annotations, fingerprint, stale) of an incident's firing alerts, oldest first."""
    rows = session.execute(
        select(Alert.labels, Alert.annotations, Alert.fingerprint, Alert.stale_since)
        .where(Alert.incident_id == incident_id, Alert.status == "firing").order_by(Alert.starts_at, Alert.id)
    )
    return [(dict(labels), dict(annotations), fp, stale is not None) for labels, annotations, fp, stale in rows]


def group_alert_details(session: Session, group_id: int) -> list[tuple[dict[str, str], dict[str, str], str, str]]:
    """(labels, annotations, fingerprint, status) of a group's alerts, newest activations first."""
    rows = session.execute(
        select(Alert.labels, Alert.annotations, Alert.fingerprint, Alert.status)
        .where(Alert.group_id == group_id).order_by(Alert.starts_at.desc(), Alert.id.desc()).limit(500)
    )
    return [(dict(labels), dict(annotations), fp, status) for labels, annotations, fp, status in rows]


def get_group(session: Session, group_id: int) -> AlertGroupRow | None:
    row = session.execute(_GROUP_BY_ID, {"group_id": group_id}).one_or_none()
    return AlertGroupRow.from_orm(row) if row is not None else None


def lock_storm_window(session: Session, key: str) -> int | None:
    """Lock the storm-guard key for this transaction; returns its storm incident, if any."""
    dialect = dialect_name(session)
    statements = _storm_locks.get(dialect)
    if statements is None:
        insert_key = insert_ignoring_conflicts(session, StormWindow).values(key=bindparam("key")).on_conflict_do_nothing(
            index_elements=["key"])
        windows = table_of(StormWindow)
        query = locked(session, select(windows.c.storm_incident_id).where(windows.c.key == bindparam("key")))
        statements = _storm_locks[dialect] = (insert_key, query)
    session.execute(statements[0], {"key": key})
    return session.execute(statements[1], {"key": key}).scalar_one()


_RECENT_OPENS = select(func.count()).select_from(_INCIDENTS).where(
    _INCIDENTS.c.storm_key == bindparam("key"), _INCIDENTS.c.opened_at >= bindparam("since"),
    _INCIDENTS.c.source != "storm")


def recent_opens(session: Session, key: str, since: datetime) -> int:
    """Incidents opened under a storm-guard key since ``since`` (storm incidents excluded)."""
    return int(session.execute(_RECENT_OPENS, {"key": key, "since": since}).scalar_one())


def set_storm_incident(session: Session, key: str, incident_id: int) -> None:
    session.execute(update(StormWindow).where(StormWindow.key == key).values(storm_incident_id=incident_id))


def attach_group_alerts(session: Session, group_id: int, incident_id: int) -> None:
    """Put a group's unattached alerts on an incident (a triage group declared by hand)."""
    session.execute(update(Alert).where(Alert.group_id == group_id, Alert.incident_id.is_(None))
                          .values(incident_id=incident_id))


def open_incident_firing(session: Session) -> list[tuple[int, str, datetime, datetime | None, str | None]]:
    """(incident id, fingerprint, first seen, stale since, commander) of every firing alert of open incidents."""
    rows = session.execute(
        select(Alert.incident_id, Alert.fingerprint, Alert.first_seen_at, Alert.stale_since, Incident.commander)
        .join(Incident, Incident.id == Alert.incident_id)
        .where(Incident.status != "resolved", Alert.status == "firing"))
    return [(i, fp, seen, stale, commander) for i, fp, seen, stale, commander in rows if i is not None]


def set_stale(session: Session, incident_id: int, fingerprints: Sequence[str], since: datetime | None) -> None:
    """Mark (or, with ``since=None``, unmark) firing alerts as gone from Alertmanager."""
    if fingerprints:
        session.execute(update(_ALERTS).where(
            _ALERTS.c.incident_id == incident_id, _ALERTS.c.status == "firing",
            _ALERTS.c.fingerprint.in_(list(fingerprints))).values(stale_since=since))
