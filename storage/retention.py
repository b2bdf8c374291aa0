"""Deleting what is past its retention."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import WebhookDelivery


async def purge_deliveries(session: AsyncSession, received_before: datetime, limit: int = 5000) -> int:
    """Delete up to ``limit`` raw deliveries received before the cutoff; returns how many.

    Bounded so one run never holds the write lock for long; call until it returns 0.
    """
    oldest = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.received_at < received_before)
        .order_by(WebhookDelivery.id)
        .limit(limit)
    )
    result = await session.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(oldest)))
    return int(result.rowcount or 0)
