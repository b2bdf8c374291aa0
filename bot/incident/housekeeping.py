"""Periodic housekeeping jobs: what they do, independent of how they are scheduled."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from bot.clock import Clock
from storage.database import Database
from storage.retention import purge_closed_incidents, purge_deliveries, purge_web_sign_ins

log = structlog.get_logger(__name__)


async def _purge_in_batches(db: Database, purge: Callable[..., int], cutoff: datetime) -> int:
    # Bounded batches, so one run never holds the write lock for long.
    total = 0
    while deleted := await db.write(purge, cutoff):
        total += deleted
    return total


async def purge_old_deliveries(db: Database, clock: Clock, retention: timedelta) -> int:
    """Delete raw webhook deliveries older than the retention; returns how many."""
    cutoff = clock() - retention
    total = await _purge_in_batches(db, purge_deliveries, cutoff)
    if total:
        log.info("purged old webhook deliveries", deleted=total, older_than=cutoff.isoformat())
    return total


async def purge_closed_incidents_older_than(db: Database, clock: Clock, retention: timedelta) -> int:
    """Delete incidents resolved longer ago than the retention, with all their data."""
    cutoff = clock() - retention
    total = await _purge_in_batches(db, purge_closed_incidents, cutoff)
    if total:
        log.info("purged old resolved incidents", deleted=total, resolved_before=cutoff.isoformat())
    return total


async def purge_web_sessions(db: Database, clock: Clock) -> int:
    """Delete expired web workspace sessions and sign-ins older than a day."""
    total = await _purge_in_batches(db, purge_web_sign_ins, clock())
    if total:
        log.info("purged expired web sessions and old sign-ins", deleted=total)
    return total
