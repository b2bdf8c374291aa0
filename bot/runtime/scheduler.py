"""APScheduler in the bot's event loop: the one module that imports it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import structlog
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.adapters.alertmanager import AlertmanagerClient
from bot.clock import Clock
from bot.http.keys import DATABASE, METRICS, SCHEDULER, SETTINGS, WAKE_OUTBOX
from bot.incident.due_timers import TimerFirer
from bot.incident.housekeeping import purge_closed_incidents_older_than, purge_old_deliveries
from bot.incident.reconcile import Reconciler
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
                await purge_closed_incidents_older_than(db, clock, timedelta(days=settings.incident_retention_days))
            except StorageError as exc:
                log.warning("retention purge failed, will retry next run", error=str(exc))

        wake = app[WAKE_OUTBOX]
        firer = TimerFirer(db, clock, app[METRICS], on_commit=lambda: [cb() for cb in wake],
                           command=settings.slash_command)

        async def fire_due() -> None:
            try:
                await firer.fire_due()
            except StorageError as exc:
                log.warning("timers: database unavailable, will retry next tick", error=str(exc))

        running = _RunningJobs()
        scheduler = AsyncIOScheduler(timezone="UTC")
        # APScheduler only paces the polling in real time; what is due is decided by the
        # injected clock against due times stored in the database.
        scheduler.add_job(running.track(fire_due), "interval", seconds=settings.scheduler_tick_seconds, id="fire-due-timers",
                          next_run_time=datetime.now(UTC), coalesce=True, max_instances=1)
        scheduler.add_job(running.track(purge), "interval", seconds=HOUSEKEEPING_INTERVAL.total_seconds(),
                          id="purge-deliveries", next_run_time=datetime.now(UTC), coalesce=True,
                          max_instances=1)
        if settings.alertmanager_url:
            reconciler = Reconciler(db, AlertmanagerClient(settings.alertmanager_url), clock,
                                    on_commit=lambda: [cb() for cb in wake])

            async def reconcile() -> None:
                try:
                    await reconciler.run()
                except StorageError as exc:
                    log.warning("reconciliation: database unavailable, will retry", error=str(exc))

            scheduler.add_job(running.track(reconcile), "interval", seconds=settings.reconcile_seconds, id="reconcile-alertmanager",
                              coalesce=True, max_instances=1)
        scheduler.start()
        app[SCHEDULER] = scheduler
        try:
            yield
        finally:
            # A job mid-transaction completes before the database closes. APScheduler's
            # shutdown cancels the jobs in flight, so pause (start none), let them finish, then shut down.
            scheduler.pause()
            await asyncio.sleep(0)  # a job submitted just now takes its first step, so it is tracked and waited for
            await running.finish()
            scheduler.shutdown(wait=False)

    return lifetime


class _RunningJobs:
    """The job coroutines in flight, so shutdown can let them finish: APScheduler's
    shutdown does not wait for coroutine jobs."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def track(self, job: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        async def tracked() -> None:
            task = asyncio.current_task()
            assert task is not None
            self._tasks.add(task)  # type: ignore[arg-type]
            try:
                await job()
            finally:
                self._tasks.discard(task)  # type: ignore[arg-type]
        return tracked

    async def finish(self, timeout: float = 10.0) -> None:
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()
