"""Deleting what is past its retention."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.models import WebhookDelivery


def purge_deliveries(session: Session, received_before: datetime, limit: int = 5000) -> int:
    """Delete up to ``limit`` raw deliveries received before the cutoff; returns how many.

    Bounded so one run never holds the write lock for long; call until it returns 0.
    """
    oldest = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.received_at < received_before)
        .order_by(WebhookDelivery.id)
        .limit(limit)
    )
    result = session.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(oldest)))
    return int(result.rowcount or 0)
