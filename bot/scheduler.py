"""APScheduler in the bot's event loop: the one module that imports it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import structlog
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock
from bot.housekeeping import purge_old_deliveries
from bot.http.keys import DATABASE, SCHEDULER, SETTINGS
from storage.errors import StorageError

log = structlog.get_logger(__name__)

HOUSEKEEPING_INTERVAL = timedelta(hours=1)


def scheduler_lifetime(clock: Clock):  # type: ignore[no-untyped-def]
    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        settings, db = app[SETTINGS], app[DATABASE]
        retention = timedelta(days=settings.delivery_retention_days)

        async def purge() -> None:
            try:
                await purge_old_deliveries(db, clock, retention)
            except StorageError as exc:
                log.warning("delivery purge failed, will retry next run", error=str(exc))

        scheduler = AsyncIOScheduler(timezone="UTC")
        scheduler.add_job(purge, "interval", seconds=HOUSEKEEPING_INTERVAL.total_seconds(),
                          id="purge-deliveries", next_run_time=clock(), coalesce=True, max_instances=1)
        scheduler.start()
        app[SCHEDULER] = scheduler
        try:
            yield
        finally:
            scheduler.shutdown(wait=False)

    return lifetime
