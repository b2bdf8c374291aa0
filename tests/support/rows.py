"""Read what the bot stored, straight from the database, for assertions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from storage.database import Database
from storage.models import Alert, AlertGroup, Base, Incident, IncidentEvent, OutboxAction, WebhookDelivery


async def count_rows(db: Database) -> dict[str, int]:
    """Row count of every table."""
    counts = {}
    async with db.reading() as session:
        for table in Base.metadata.sorted_tables:
            counts[table.name] = int((await session.execute(select(func.count()).select_from(table))).scalar_one())
    return counts


async def incidents(db: Database) -> list[Incident]:
    async with db.reading() as session:
        return list((await session.execute(select(Incident).order_by(Incident.id))).scalars())


async def alerts(db: Database) -> list[Alert]:
    async with db.reading() as session:
        return list((await session.execute(select(Alert).order_by(Alert.id))).scalars())


async def events(db: Database, incident_id: int) -> list[IncidentEvent]:
    async with db.reading() as session:
        query = select(IncidentEvent).where(IncidentEvent.incident_id == incident_id).order_by(IncidentEvent.id)
        return list((await session.execute(query)).scalars())


async def event_kinds(db: Database, incident_id: int) -> list[str]:
    return [e.kind for e in await events(db, incident_id)]


async def outbox(db: Database) -> list[OutboxAction]:
    async with db.reading() as session:
        return list((await session.execute(select(OutboxAction).order_by(OutboxAction.id))).scalars())


async def deliveries(db: Database) -> list[WebhookDelivery]:
    async with db.reading() as session:
        return list((await session.execute(select(WebhookDelivery).order_by(WebhookDelivery.id))).scalars())


async def groups(db: Database) -> list[AlertGroup]:
    async with db.reading() as session:
        return list((await session.execute(select(AlertGroup).order_by(AlertGroup.id))).scalars())


def nothing_stored(counts: dict[str, Any]) -> bool:
    return all(value == 0 for value in counts.values())
