"""Read-side queries for the API, metrics and the CLI."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Incident


async def open_incidents_by_severity(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(Incident.severity, func.count()).where(Incident.status != "resolved").group_by(Incident.severity)
    )
    return {severity: int(count) for severity, count in rows}
