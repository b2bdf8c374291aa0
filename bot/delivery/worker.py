"""The outbox worker: delivers stored actions, in order per incident, concurrently across
incidents, retrying what may succeed later and recording what never will.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.delivery.failure_words import describe_failure
from bot.delivery.outages import OutageNotices
from bot.delivery.outcome import Done, NotReady
from bot.domain.failures import PermanentFailure, RateLimited, TransientFailure
from bot.domain.kinds import ActionKind, EventKind, retry_limit
from bot.observability.metrics import Metrics
from storage import alerting as repo
from storage import outbox
from storage.database import Database
from storage.errors import StorageError
from storage.rows import NewEvent

log = structlog.get_logger(__name__)

Runner = Callable[[outbox.ClaimedAction], Awaitable[Done]]
# Longest wait between retries of a failing action: after a Slack outage, incident channels
# and messages must follow within seconds, not a minute (a retry is one cheap call).
MAX_BACKOFF_SECONDS = 15.0
MAX_EXTERNAL_BACKOFF_SECONDS = 300.0


def backoff(attempt: int, *, base: float = 0.5, cap: float = MAX_BACKOFF_SECONDS) -> float:
    """Capped exponential backoff with jitter (half fixed, half random)."""
    ceiling = min(cap, base * (2 ** max(attempt - 1, 0)))
    return float(ceiling / 2 + random.uniform(0, ceiling / 2))


class OutboxWorker:
    def __init__(self, db: Database, run: Runner, clock: Clock, metrics: Metrics, *, concurrency: int = 8,
                 lease: timedelta = timedelta(seconds=60), poll_interval: float = 0.5) -> None:
        self._db = db
        self._run = run
        self._clock = clock
        self._metrics = metrics
        self._concurrency = concurrency
        self._lease = lease
        self._poll = poll_interval
        self.worker_id = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self._outages = OutageNotices(clock)
        self._wake = asyncio.Event()
        self._stopping = False
        self._active: dict[str, asyncio.Task[None]] = {}
        self._loop_task: asyncio.Task[None] | None = None

    def notify(self) -> None:
        """New actions were committed: look now instead of at the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._loop(), name="outbox-worker")

    def stop_claiming(self) -> None:
        """Shutdown has begun: claim nothing more; the actions in flight carry on."""
        self._stopping = True
        self._wake.set()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop claiming; give the actions in flight ``grace`` seconds to finish and be
        recorded, then cancel the rest and release their leases, so the next start takes
        them at once instead of waiting for the leases to expire."""
        self.stop_claiming()
        if self._loop_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        if self._active:
            _, pending = await asyncio.wait(list(self._active.values()), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        try:
            async with self._db.transaction() as session:
                released = await session.run_sync(outbox.release, worker=self.worker_id)
        except StorageError as exc:
            log.warning("outbox: could not release unfinished actions; their leases expire instead", error=str(exc))
            return
        if released:
            log.warning("outbox: unfinished actions released for the next start", actions=released, grace=grace)

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                await self._claim_and_spawn()
            except StorageError as exc:
                log.warning("outbox: database unavailable, retrying", error=str(exc))
            except Exception:  # the worker must outlive any bug in one pass
                log.exception("outbox: unexpected error in the claim loop")
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)

    async def _claim_and_spawn(self) -> None:
        free = self._concurrency - len(self._active)
        if free <= 0:
            return
        claimed = await self._claim(limit=free, exclude=frozenset(self._active))
        for action in claimed:
            task = asyncio.create_task(self._drive(action), name=f"outbox:{action.ordering_key}")
            self._active[action.ordering_key] = task
            task.add_done_callback(functools.partial(self._finished, action.ordering_key))

    def _finished(self, key: str, _task: asyncio.Task[None] | None = None) -> None:
        self._active.pop(key, None)
        self._wake.set()

    async def _claim(self, *, limit: int, exclude: frozenset[str] = frozenset(),
                     key: str | None = None) -> list[outbox.ClaimedAction]:
        now = self._clock()
        async with self._db.transaction() as session:
            return await session.run_sync(outbox.claim, now=now, lease_until=now + self._lease, worker=self.worker_id,
                                      limit=limit, ordering_key=key, exclude_keys=exclude)

    async def _drive(self, action: outbox.ClaimedAction | None) -> None:
        """Run one key's actions back to back while they succeed and none waits; once
        stopping, start none (one claimed meanwhile is released by :meth:`stop`)."""
        while action is not None and not self._stopping:
            try:
                proceed = await self._execute(action)
                if not proceed or self._stopping:
                    return
                claimed = await self._claim(limit=1, key=action.ordering_key)
            except StorageError as exc:  # recording the outcome or claiming the next one failed
                log.warning("outbox: database unavailable, the lease brings the action back", error=str(exc),
                            action_id=action.id, kind=action.kind, incident_id=action.incident_id)
                return
            action = claimed[0] if claimed else None

    async def _execute(self, action: outbox.ClaimedAction) -> bool:
        bound = log.bind(action_id=action.id, kind=action.kind, incident_id=action.incident_id)
        try:
            done = await self._run(action)
        except RateLimited as exc:  # also NotReady: another queue's action has not happened yet
            await self._retry(action, exc.retry_after, str(exc), count_attempt=False)
            outcome = "waiting" if isinstance(exc, NotReady) else "rate_limited"
            self._metrics.outbox_actions.labels(action.kind, outcome).inc()
            return False
        except TransientFailure as exc:
            limit = retry_limit(action.kind)
            if limit is not None and action.attempts >= limit:
                bound.error("outbox: action still failing after its last retry", error=str(exc), attempt=action.attempts)
                await self._fail(action, PermanentFailure(exc.operation, f"{exc.error} (gave up after "
                                                          f"{action.attempts} attempts)", service=exc.service,
                                                          hint=exc.hint))
                self._metrics.outbox_actions.labels(action.kind, "failed").inc()
                return True
            delay = backoff(action.attempts, cap=self._backoff_cap(exc))
            bound.warning("outbox: transient failure, will retry", error=str(exc), retry_in=round(delay, 2),
                          attempt=action.attempts)
            await self._retry(action, delay, str(exc), outage=exc)
            self._metrics.outbox_actions.labels(action.kind, "retried").inc()
            return False
        except PermanentFailure as exc:
            bound.error("outbox: action failed permanently", error=str(exc))
            await self._fail(action, exc)
            self._metrics.outbox_actions.labels(action.kind, "failed").inc()
            return True
        except StorageError as exc:
            bound.warning("outbox: database unavailable during action, will retry", error=str(exc))
            return False  # the lease expires and the action is claimed again
        await self._complete(action, done)
        self._metrics.outbox_actions.labels(action.kind, "done").inc()
        return True

    @staticmethod
    def _backoff_cap(exc: TransientFailure) -> float:
        # Slack comes back within seconds and a retry is cheap; another service that is down
        # is asked again less often (trackers and pagers are retried for as long as it takes).
        return MAX_BACKOFF_SECONDS if exc.service == "slack" else MAX_EXTERNAL_BACKOFF_SECONDS

    async def _complete(self, action: outbox.ClaimedAction, done: Done) -> None:
        now = self._clock()
        async with self._db.transaction() as session:
            if done.incident_updates and action.incident_id is not None:
                await session.run_sync(repo.update_incident, action.incident_id, **done.incident_updates)
            if done.group_updates and "group_id" in action.payload:
                await session.run_sync(repo.update_group, int(action.payload["group_id"]), **done.group_updates)
            await session.run_sync(outbox.finish, action.id, state="done", now=now, result=done.result)
            if done.events and action.incident_id is not None:
                await session.run_sync(repo.append_events, action.incident_id, done.events)
            await session.run_sync(outbox.finish_absorbed, done.absorbed, into=action.id, now=now)
            await session.run_sync(self._outages.recovered, action)

    async def _retry(self, action: outbox.ClaimedAction, delay: float, error: str, count_attempt: bool = True,
                     outage: TransientFailure | None = None) -> None:
        at = self._clock() + timedelta(seconds=delay)
        async with self._db.transaction() as session:
            await session.run_sync(outbox.retry_later, action.id, at=at, error=error, count_attempt=count_attempt)
            if outage is not None:
                await session.run_sync(self._outages.unavailable, action, outage)

    async def _fail(self, action: outbox.ClaimedAction, exc: PermanentFailure) -> None:
        """Record the failure on the action and the timeline, and tell the channel."""
        now = self._clock()
        notice = describe_failure(action.kind, action.payload, exc.error, service=exc.service, hint=exc.hint)
        async with self._db.transaction() as session:
            await session.run_sync(outbox.finish, action.id, state="failed", now=now, error=str(exc))
            if action.incident_id is None:
                return
            await session.run_sync(repo.append_events, action.incident_id, [NewEvent(
                EventKind.SLACK_ACTION_FAILED, "bot",
                {"action": action.kind, "error": exc.error, "method": exc.operation, "service": exc.service,
                 "notice": notice},
                occurred_at=now, recorded_at=now)])
            if action.payload.get("purpose") == "notice":
                return  # a notice about a notice would loop
            await session.run_sync(tell_channel, action.incident_id, notice, now,
                                   mention_commander=exc.service != "slack")


def tell_channel(session: Session, incident_id: int, text: str, now: datetime, *, mention_commander: bool) -> None:
    """Queue a notice in the incident's channel (on the incident's own Slack queue, so an
    outage of another service never holds it up); with the commander mentioned when the
    fix is theirs to make outside Slack."""
    incident = repo.get_incident(session, incident_id)
    if incident is None or not incident.channel_id:
        return
    mention = f"<@{incident.commander}> " if mention_commander and incident.commander else ""
    text = f":warning: {mention}{text}"
    repo.enqueue(session, ordering_key=f"incident:{incident_id}", incident_id=incident_id, kind=ActionKind.MESSAGE_POST,
                 payload={"text": text, "purpose": "notice"}, now=now)
