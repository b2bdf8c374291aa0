"""APScheduler in the bot's event loop: the one module that imports it. It runs the periodic
jobs; due timers are fired by :mod:`bot.runtime.timer_loop`, as they fall due."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock
from bot.incident.housekeeping import purge_closed_incidents_older_than, purge_old_deliveries, purge_web_sessions
from bot.incident.reconcile import Reconciler
from bot.incident.tracker_sync import TrackerSync
from storage.database import Database
from storage.errors import StorageError

log = structlog.get_logger(__name__)

HOUSEKEEPING_INTERVAL = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    run: Callable[[], Awaitable[object]]  # what it returns is not used
    every_seconds: float
    when_database_down: str  # logged when a run fails for want of the database; the next run retries
    start_now: bool = True  # or only after the first interval

    async def run_once(self) -> None:
        try:
            await self.run()
        except StorageError as exc:
            log.warning(self.when_database_down, error=str(exc))


def purge_old_records(db: Database, clock: Clock, deliveries: timedelta, incidents: timedelta) -> Job:
    async def purge() -> None:
        await purge_old_deliveries(db, clock, deliveries)
        await purge_closed_incidents_older_than(db, clock, incidents)
        await purge_web_sessions(db, clock)
    return Job("purge-deliveries", purge, HOUSEKEEPING_INTERVAL.total_seconds(),
               "retention purge failed, will retry next run")


def reconcile_with_alertmanager(reconciler: Reconciler, every_seconds: float) -> Job:
    return Job("reconcile-alertmanager", reconciler.run, every_seconds,
               "reconciliation: database unavailable, will retry", start_now=False)


def sync_tracker_issues(sync: TrackerSync, every_seconds: float) -> Job:
    return Job("sync-tracker-issues", sync.run, every_seconds, "trackers: database unavailable, will retry",
               start_now=False)


@asynccontextmanager
async def running_scheduler(jobs: Sequence[Job]) -> AsyncIterator[AsyncIOScheduler]:
    """Run the jobs until the block ends; a job in flight then finishes before this returns."""
    running = _RunningJobs()
    scheduler = AsyncIOScheduler(timezone="UTC")
    # APScheduler only paces the polling in real time; what is due is decided by the
    # injected clock against due times stored in the database.
    for job in jobs:
        # APScheduler reads an explicit next_run_time=None as "paused": leave it out instead.
        first_run = {"next_run_time": datetime.now(UTC)} if job.start_now else {}
        scheduler.add_job(running.track(job.run_once), "interval", seconds=job.every_seconds, id=job.id,
                          coalesce=True, max_instances=1, **first_run)
    scheduler.start()
    try:
        yield scheduler
    finally:
        # A job mid-transaction completes before the database closes. APScheduler's
        # shutdown cancels the jobs in flight, so pause (start none), let them finish, then shut down.
        scheduler.pause()
        await asyncio.sleep(0)  # a job submitted just now takes its first step, so it is tracked and waited for
        await running.finish()
        scheduler.shutdown(wait=False)


class _RunningJobs:
    """The job coroutines in flight, so shutdown can let them finish: APScheduler's
    shutdown does not wait for coroutine jobs."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def track(self, job: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        async def tracked() -> None:
            task = asyncio.current_task()
            assert task is not None
            self._tasks.add(task)
            try:
                await job()
            finally:
                self._tasks.discard(task)
        return tracked

    async def finish(self, timeout: float = 10.0) -> None:
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()
