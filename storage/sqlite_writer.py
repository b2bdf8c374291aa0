"""SQLite's single writer: one thread runs every write, committing several at once.

SQLite allows one writer at a time anyway. Running writes as synchronous units on one
thread costs a single thread hand-off per write (instead of several per statement
through aiosqlite), and committing the writes that queued up meanwhile together
(group commit) amortises BEGIN/COMMIT under load. Each write runs in its own
SAVEPOINT, so one write's error rolls back that write only.

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
        outcomes: list[tuple[bool, Any]] = []
        with self.mutex:
            try:
                with self._sessions() as session, session.begin():
                    for job in batch:
                        try:
                            with session.begin_nested():
                                outcomes.append((True, job.fn(session, *job.args)))
                        except Exception as exc:  # handed to that write's caller, not swallowed
                            outcomes.append((False, exc))
            except Exception as exc:  # the commit itself failed: no write of the batch happened
                outcomes = [(False, exc)] * len(batch)
        for job, (ok, value) in zip(batch, outcomes, strict=True):
            job.loop.call_soon_threadsafe(_settle, job.future, ok, value)


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.cancelled():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
