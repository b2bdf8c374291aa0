"""Periodic housekeeping jobs: what they do, independent of how they are scheduled."""

from __future__ import annotations

from datetime import timedelta

import structlog

from bot.clock import Clock
from storage.database import Database
from storage.retention import purge_deliveries

log = structlog.get_logger(__name__)


async def purge_old_deliveries(db: Database, clock: Clock, retention: timedelta) -> int:
    """Delete raw webhook deliveries older than the retention; returns how many."""
    cutoff = clock() - retention
    total = 0
    while True:
        deleted = await db.write(purge_deliveries, cutoff)
        total += deleted
        if deleted == 0:
            break
    if total:
        log.info("purged old webhook deliveries", deleted=total, older_than=cutoff.isoformat())
    return total
