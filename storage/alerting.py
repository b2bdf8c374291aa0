"""Repository functions for the webhook path: groups, alerts, incidents, events, outbox.

Plain values in, plain values out, so the application never sees SQLAlchemy. Every
function runs inside the caller's transaction (``Database.transaction()``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import insert_ignoring_conflicts, locked
from storage.models import Alert, AlertGroup, Incident, IncidentEvent, OutboxAction, StormWindow, WebhookDelivery

# Keep IN lists well under both SQLite's and asyncpg's bound-parameter limits.
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class GroupRow:
    id: int
    incident_id: int | None


async def lock_group(session: AsyncSession, *, group_key: str, receiver: str, group_labels: dict[str, str],
                     status: str, now: datetime) -> GroupRow:
    """Create the group row if new, then lock it for the rest of the transaction.

    Concurrent deliveries of one group queue here, in this process or another, so
    each sees the previous one's incident and none opens a second.
    """
    stmt = insert_ignoring_conflicts(session, AlertGroup).values(
        group_key=group_key, receiver=receiver, group_labels=group_labels, last_status=status,
        first_seen_at=now, last_seen_at=now,
    ).on_conflict_do_nothing(index_elements=["group_key"])
    await session.execute(stmt)
    query = select(AlertGroup.id, AlertGroup.incident_id).where(AlertGroup.group_key == group_key)
    query = locked(session, query)
    row = (await session.execute(query)).one()
    return GroupRow(row.id, row.incident_id)


async def alerts_by_fingerprint(session: AsyncSession, fingerprints: Iterable[str]) -> dict[str, list[tuple[datetime, str]]]:
    """Every stored (startsAt, status) for each of the given fingerprints."""
    found: dict[str, list[tuple[datetime, str]]] = {}
    ordered = sorted(set(fingerprints))
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start:start + _CHUNK]
        rows = await session.execute(
            select(Alert.fingerprint, Alert.starts_at, Alert.status).where(Alert.fingerprint.in_(chunk))
        )
        for fp, starts_at, status in rows:
            found.setdefault(fp, []).append((starts_at, status))
    return found


async def get_incident(session: AsyncSession, incident_id: int) -> Incident | None:
    return await session.get(Incident, incident_id)


async def firing_alerts(session: AsyncSession, incident_id: int) -> list[tuple[str, datetime]]:
    rows = await session.execute(
        select(Alert.fingerprint, Alert.starts_at).where(Alert.incident_id == incident_id, Alert.status == "firing")
    )
    return [(fp, starts_at) for fp, starts_at in rows]


async def insert_incident(session: AsyncSession, **values: Any) -> int:
    result = await session.execute(insert(Incident).values(**values).returning(Incident.id))
    return int(result.scalar_one())


async def update_incident(session: AsyncSession, incident_id: int, **values: Any) -> None:
    await session.execute(update(Incident).where(Incident.id == incident_id).values(**values))


async def update_group(session: AsyncSession, group_id: int, **values: Any) -> None:
    await session.execute(update(AlertGroup).where(AlertGroup.id == group_id).values(**values))


async def insert_alerts(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert new alerts; an identity another transaction stored first is left alone."""
    if not rows:
        return
    stmt = insert_ignoring_conflicts(session, Alert).on_conflict_do_nothing(index_elements=["fingerprint", "starts_at"])
    await session.execute(stmt, list(rows))


async def resolve_alerts(session: AsyncSession, resolved: Iterable[tuple[str, datetime, datetime | None]],
                         now: datetime) -> None:
    """Mark known alerts resolved: (fingerprint, startsAt, endsAt) each."""
    params = [{"fp": fp, "sa": starts_at, "ea": ends_at} for fp, starts_at, ends_at in resolved]
    if not params:
        return
    table = Alert.__table__
    stmt = (
        update(table)
        .where(table.c.fingerprint == bindparam("fp"), table.c.starts_at == bindparam("sa"))
        .values(status="resolved", ends_at=bindparam("ea"), resolved_seen_at=now)
    )
    await session.execute(stmt, params)


async def append_events(session: AsyncSession, incident_id: int, events: Sequence[dict[str, Any]]) -> list[int]:
    """Append timeline events; returns their ids in order."""
    if not events:
        return []
    rows = [{**event, "incident_id": incident_id} for event in events]
    result = await session.execute(insert(IncidentEvent).returning(IncidentEvent.id, sort_by_parameter_order=True), rows)
    return [int(i) for i in result.scalars()]


async def enqueue(session: AsyncSession, *, ordering_key: str, kind: str, payload: dict[str, Any],
                  now: datetime, incident_id: int | None = None) -> None:
    """Add an action to the outbox, delivered after this transaction commits."""
    await session.execute(insert(OutboxAction).values(
        ordering_key=ordering_key, incident_id=incident_id, kind=kind, payload=payload,
        state="pending", attempts=0, available_at=now, created_at=now,
    ))


async def enqueue_many(session: AsyncSession, *, ordering_key: str, actions: Sequence[tuple[str, dict[str, Any]]],
                       now: datetime, incident_id: int | None = None) -> None:
    """Add several actions to the outbox, delivered in this order after commit."""
    if not actions:
        return
    await session.execute(insert(OutboxAction), [
        {"ordering_key": ordering_key, "incident_id": incident_id, "kind": kind, "payload": payload,
         "state": "pending", "attempts": 0, "available_at": now, "created_at": now}
        for kind, payload in actions
    ])


async def record_delivery(session: AsyncSession, **values: Any) -> None:
    await session.execute(insert(WebhookDelivery).values(**values))


async def firing_alert_details(session: AsyncSession, incident_id: int) -> list[tuple[dict[str, Any], dict[str, Any], str]]:
    """(labels, annotations, fingerprint) of an incident's firing alerts, oldest first."""
    rows = await session.execute(
        select(Alert.labels, Alert.annotations, Alert.fingerprint)
        .where(Alert.incident_id == incident_id, Alert.status == "firing").order_by(Alert.starts_at, Alert.id)
    )
    return [(dict(labels), dict(annotations), fp) for labels, annotations, fp in rows]


async def group_alert_details(session: AsyncSession, group_id: int) -> list[tuple[dict[str, Any], dict[str, Any], str, str]]:
    """(labels, annotations, fingerprint, status) of a group's alerts, newest activations first."""
    rows = await session.execute(
        select(Alert.labels, Alert.annotations, Alert.fingerprint, Alert.status)
        .where(Alert.group_id == group_id).order_by(Alert.starts_at.desc(), Alert.id.desc()).limit(500)
    )
    return [(dict(labels), dict(annotations), fp, status) for labels, annotations, fp, status in rows]


async def get_group(session: AsyncSession, group_id: int) -> AlertGroup | None:
    return await session.get(AlertGroup, group_id)


async def incident_with_channel(session: AsyncSession, channel_id: str) -> int | None:
    row = await session.execute(select(Incident.id).where(Incident.channel_id == channel_id))
    return row.scalar_one_or_none()


async def lock_storm_window(session: AsyncSession, key: str) -> int | None:
    """Lock the storm-guard key for this transaction; returns its storm incident, if any."""
    await session.execute(insert_ignoring_conflicts(session, StormWindow).values(key=key).on_conflict_do_nothing(index_elements=["key"]))
    query = select(StormWindow.storm_incident_id).where(StormWindow.key == key)
    query = locked(session, query)
    return (await session.execute(query)).scalar_one()


async def recent_opens(session: AsyncSession, key: str, since: datetime) -> int:
    """Incidents opened under a storm-guard key since ``since`` (storm incidents excluded)."""
    query = select(func.count()).select_from(Incident).where(
        Incident.storm_key == key, Incident.opened_at >= since, Incident.source != "storm")
    return int((await session.execute(query)).scalar_one())


async def set_storm_incident(session: AsyncSession, key: str, incident_id: int) -> None:
    await session.execute(update(StormWindow).where(StormWindow.key == key).values(storm_incident_id=incident_id))


async def attach_group_alerts(session: AsyncSession, group_id: int, incident_id: int) -> None:
    """Put a group's unattached alerts on an incident (a triage group declared by hand)."""
    await session.execute(update(Alert).where(Alert.group_id == group_id, Alert.incident_id.is_(None))
                          .values(incident_id=incident_id))
