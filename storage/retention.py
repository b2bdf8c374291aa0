"""Deleting what is past its retention."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage import web_sessions
from storage.models import Incident, WebhookDelivery
from storage.results import rows_affected

# A sign-in left unfinished this long ago (or finished) is of no further use.
SIGNIN_RETENTION = timedelta(days=1)


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
    return rows_affected(result)


def purge_closed_incidents(session: Session, resolved_before: datetime, limit: int = 200) -> int:
    """Delete up to ``limit`` incidents resolved before the cutoff, with their timeline,
    alerts, outbox rows, timers, postmortem and its versions, and follow-ups (ON DELETE
    CASCADE; SQLite connections turn foreign keys on). Open incidents are never touched."""
    oldest = (
        select(Incident.id)
        .where(Incident.status == "resolved", Incident.resolved_at < resolved_before)
        .order_by(Incident.id)
        .limit(limit)
    )
    result = session.execute(delete(Incident).where(Incident.id.in_(oldest)))
    return rows_affected(result)


def purge_web_sign_ins(session: Session, now: datetime, limit: int = 5000) -> int:
    """Delete up to ``limit`` expired web sessions and up to ``limit`` sign-ins older than a
    day; returns how many rows went. Call until it returns 0."""
    return web_sessions.purge_expired(session, now, limit) + web_sessions.purge_signins(session, now - SIGNIN_RETENTION,
                                                                                         limit)
