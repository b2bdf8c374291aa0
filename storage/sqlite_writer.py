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
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

MAX_BATCH = 16


@dataclass
class _Job:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


class SqliteWriter:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self.mutex = threading.Lock()
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
        self._thread.start()

    async def submit(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._jobs.put(_Job(fn, args, loop, future))
        return await future

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
        settled: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for job, (ok, value) in zip(batch, outcomes, strict=True):
            settled.setdefault(job.loop, []).append((job.future, ok, value))
        for loop, results in settled.items():  # one wake-up of each waiting loop per batch
            loop.call_soon_threadsafe(_settle, results)

    def _together(self, batch: list[_Job]) -> list[tuple[bool, Any]] | None:
        """All writes in one transaction, or None (and nothing written) if any failed.
        Failures are rare, so this beats a SAVEPOINT per write; writes touch only the
        database, so running one again after a rollback is safe."""
        try:
            with self._sessions() as session, session.begin():
                return [(True, job.fn(session, *job.args)) for job in batch]
        except Exception:
            return None

    def _alone(self, job: _Job) -> tuple[bool, Any]:
        try:
            with self._sessions() as session, session.begin():
                return True, job.fn(session, *job.args)
        except Exception as exc:  # handed to that write's caller, not swallowed
            return False, exc


def _settle(results: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in results:
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
