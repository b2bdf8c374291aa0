"""When due timers are fired: as they fall due, not at the next tick of a poll.

One task runs :meth:`TimerFirer.fire_due` and then sleeps until the earliest pending due time
(which the pass read from the ``timers`` table in its last transaction), or until a commit of this process schedules
an earlier one (``Database.on_timer_scheduled``), or for one tick at most: a timer scheduled by
another replica, or moved in the database behind the bot's back, is found by the next pass.
What is due is still decided by the injected clock against due times in the database, so a
timer fires once whoever wakes first.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import structlog

from bot.clock import Clock
from bot.incident.due_timers import TimerFirer
from storage.database import Database
from storage.errors import StorageError

log = structlog.get_logger(__name__)

# A timer still due after a pass was skipped (its incident locked by a command or another
# replica, on PostgreSQL): look again this soon rather than spin, or wait a whole tick.
SKIPPED_RETRY_SECONDS = 0.1
SHUTDOWN_GRACE_SECONDS = 10.0


class TimerLoop:
    def __init__(self, firer: TimerFirer, clock: Clock, tick_seconds: float) -> None:
        self._firer = firer
        self._clock = clock
        self._tick = tick_seconds
        self._wake = asyncio.Event()
        self._hinted: datetime | None = None  # the earliest due time commits told of since the last pass
        self._next: datetime | None = None  # the earliest pending due time the last pass found
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def scheduled(self, due: datetime) -> None:
        """A commit scheduled a timer due at ``due``; callable from any thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._hint, due)

    def _hint(self, due: datetime) -> None:
        if self._hinted is None or due < self._hinted:
            self._hinted = due
            self._wake.set()

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name="timer-loop")

    async def stop(self) -> None:
        """Start no pass; let the one in flight finish (within a grace), so its transaction
        completes before the database closes."""
        self._stopping = True
        self._wake.set()
        if self._task is None:
            return
        _, pending = await asyncio.wait({self._task}, timeout=SHUTDOWN_GRACE_SECONDS)
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while not self._stopping:
            self._hinted = None
            started = self._clock()
            await self._pass()
            await self._sleep(time.monotonic() + self._tick, started)

    async def _pass(self) -> None:
        try:
            self._next = await self._firer.fire_due()
        except StorageError as exc:
            self._next = None
            log.warning("timers: database unavailable, will retry next tick", error=str(exc))
        except Exception:  # the loop must outlive any bug in one pass
            self._next = None
            log.exception("timers: unexpected error while firing")

    async def _sleep(self, deadline: float, passed_at: datetime) -> None:
        """Until the tick's ``deadline`` (monotonic) or the earliest due time known, whichever
        comes first; a hint of an earlier due time, arriving meanwhile, shortens the wait."""
        known = self._next
        if known is not None and known <= passed_at:  # due before the pass began, yet left: skipped
            deadline, known = min(deadline, time.monotonic() + SKIPPED_RETRY_SECONDS), None
        while not self._stopping:
            wait = deadline - time.monotonic()
            for due in (known, self._hinted):
                if due is not None:
                    wait = min(wait, (due - self._clock()).total_seconds())
            if wait <= 0:
                return
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)


@asynccontextmanager
async def running_timers(firer: TimerFirer, db: Database, clock: Clock, tick_seconds: float) -> AsyncIterator[TimerLoop]:
    """Fire timers as they fall due until the block ends; a pass in flight then finishes."""
    loop = TimerLoop(firer, clock, tick_seconds)
    db.on_timer_scheduled(loop.scheduled)
    loop.start()
    try:
        yield loop
    finally:
        await loop.stop()
