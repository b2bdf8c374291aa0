"""SQLite's single writer: one thread runs every write, committing several at once.

SQLite allows one writer at a time anyway. Running writes as synchronous units on one
thread costs a single thread hand-off per write (instead of several per statement
through aiosqlite), and committing the writes that queued up meanwhile together
(group commit) amortises BEGIN/COMMIT under load. If one write of a batch fails, the
batch is rolled back and its writes run again one transaction each, so that write's
error rolls back that write only.

Writers that still use an async session (``Database.transaction()``) hold ``mutex``,
the same lock the writer thread holds around each batch, so they never meet in
SQLite's busy handler.
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar, cast

from sqlalchemy.orm import Session, sessionmaker

MAX_BATCH = 16

T = TypeVar("T")

# What a write returned, or the exception it raised (handed to that write's caller).
_Outcome = tuple[object, Exception | None]


@dataclass
class _Job:
    fn: Callable[[Session], object]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[object]
    # The submitter's context variables (its log bindings, its trace), for fn to run in.
    context: contextvars.Context = field(default_factory=contextvars.copy_context)

    def run(self, session: Session) -> object:
        return self.context.run(self.fn, session)


class SqliteWriter:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self.mutex = threading.Lock()
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
        self._thread.start()

    async def submit(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn`` in a write transaction on the writer thread; its result or its exception."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[object] = loop.create_future()
        self._jobs.put(_Job(fn, loop, future))
        return cast("T", await future)  # the future holds what fn returned

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    self._jobs.put(None)  # finish this batch, then stop
                    break
                batch.append(job)
            self._commit(batch)

    def _commit(self, batch: list[_Job]) -> None:
        with self.mutex:
            outcomes = self._together(batch) if len(batch) > 1 else None
            if outcomes is None:  # one write failed and took the batch with it: each alone, so only it fails
                outcomes = [self._alone(job) for job in batch]
        settled: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[object], _Outcome]]] = {}
        for job, outcome in zip(batch, outcomes, strict=True):
            settled.setdefault(job.loop, []).append((job.future, outcome))
        for loop, results in settled.items():  # one wake-up of each waiting loop per batch
            loop.call_soon_threadsafe(_settle, results)

    def _together(self, batch: list[_Job]) -> list[_Outcome] | None:
        """All writes in one transaction, or None (and nothing written) if any failed.
        Failures are rare, so this beats a SAVEPOINT per write; writes touch only the
        database, so running one again after a rollback is safe."""
        try:
            with self._sessions() as session, session.begin():
                return [(job.run(session), None) for job in batch]
        except Exception:  # noqa: BLE001 - any failure: each write runs again alone, and the failing one reports
            return None

    def _alone(self, job: _Job) -> _Outcome:
        try:
            with self._sessions() as session, session.begin():
                return job.run(session), None
        except Exception as exc:  # noqa: BLE001 - handed to that write's caller, not swallowed
            return None, exc


def _settle(results: list[tuple[asyncio.Future[object], _Outcome]]) -> None:
    for future, (value, error) in results:
        if future.cancelled():
            continue
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)
