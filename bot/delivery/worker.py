"""The outbox worker: delivers stored actions, in order per incident, concurrently across
incidents, retrying what may succeed later and recording what never will.

Per action the database sees one transaction after the Slack call: it records the outcome
and leases the key's next action together, so a queue of actions costs a claim for its
first action only. Each is a unit of :meth:`Database.write` (SQLite's writer thread, which
commits the units that queue up meanwhile together).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import random
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog
from opentelemetry.trace import SpanKind, Status, StatusCode, get_current_span
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.delivery.failure_words import describe_failure
from bot.delivery.outages import OutageNotices
from bot.delivery.outcome import Done, NotReady
from bot.domain.failures import PermanentFailure, RateLimited, TransientFailure
from bot.domain.kinds import ActionKind, EventKind, retry_limit
from bot.observability.metrics import Metrics
from bot.observability.tracing import action_context, tracer
from storage import alerting as repo
from storage import outbox
from storage.database import Database
from storage.errors import StorageError
from storage.rows import NewEvent

log = structlog.get_logger(__name__)

Runner = Callable[[outbox.ClaimedAction], Awaitable[Done]]
# Reads what an action's handler needs, in the transaction that leases the action.
Prefetch = Callable[[Session, outbox.ClaimedAction], outbox.ClaimedAction]
# Longest wait between retries of a failing action: after a Slack outage, incident channels
# and messages must follow within seconds, not a minute (a retry is one cheap call).
MAX_BACKOFF_SECONDS = 15.0
MAX_EXTERNAL_BACKOFF_SECONDS = 300.0


def backoff(attempt: int, *, base: float = 0.5, cap: float = MAX_BACKOFF_SECONDS) -> float:
    """Capped exponential backoff with jitter (half fixed, half random)."""
    ceiling = min(cap, base * (2 ** max(attempt - 1, 0)))
    return float(ceiling / 2 + random.uniform(0, ceiling / 2))


class OutboxWorker:
    def __init__(self, db: Database, run: Runner, clock: Clock, metrics: Metrics, *, concurrency: int = 16,
                 lease: timedelta = timedelta(seconds=60), poll_interval: float = 0.5,
                 prefetch: Prefetch | None = None) -> None:
        self._db = db
        self._run = run
        self._prefetch = prefetch or _with_incident
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
            released = await self._db.write(outbox.release, worker=self.worker_id)
        except StorageError as exc:
            log.warning("outbox: could not release unfinished actions; their leases expire instead", error=str(exc))
            return
        if released:
            log.warning("outbox: unfinished actions released for the next start", actions=released, grace=grace)

    async def _loop(self) -> None:
        while not self._stopping:
            self._wake.clear()  # before claiming: a commit during the claim wakes the next pass
            try:
                await self._claim_and_spawn()
            except StorageError as exc:
                log.warning("outbox: database unavailable, retrying", error=str(exc))
            except Exception:  # the worker must outlive any bug in one pass
                log.exception("outbox: unexpected error in the claim loop")
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

    async def _claim(self, *, limit: int, exclude: frozenset[str] = frozenset()) -> list[outbox.ClaimedAction]:
        now = self._clock()

        def unit(session: Session) -> list[outbox.ClaimedAction]:
            claimed = outbox.claim(session, now=now, lease_until=now + self._lease, worker=self.worker_id,
                                   limit=limit, exclude_keys=exclude)
            return [self._prefetch(session, action) for action in claimed]
        return await self._db.write(unit)

    def _claim_next(self, session: Session, action: outbox.ClaimedAction) -> outbox.ClaimedAction | None:
        """In the transaction that finishes ``action``: lease its key's next action, unless stopping."""
        if self._stopping:
            return None
        now = self._clock()
        claimed = outbox.claim_after(session, action, now=now, lease_until=now + self._lease, worker=self.worker_id)
        return None if claimed is None else self._prefetch(session, claimed)

    async def _drive(self, action: outbox.ClaimedAction | None) -> None:
        """Run one key's actions back to back while they succeed and none waits; once
        stopping, start none (one claimed meanwhile is released by :meth:`stop`)."""
        while action is not None and not self._stopping:
            current = action
            try:
                action = await self._execute(current)
            except StorageError as exc:  # recording the outcome (and claiming the next one) failed
                log.warning("outbox: database unavailable, the lease brings the action back", error=str(exc),
                            action_id=current.id, kind=current.kind, incident_id=current.incident_id)
                return

    async def _execute(self, action: outbox.ClaimedAction) -> outbox.ClaimedAction | None:
        """Deliver one action in a span that continues the trace of what enqueued it."""
        attributes: dict[str, str | int] = {
            "messaging.system": "incident_bot.outbox", "messaging.operation.type": "process",
            "messaging.destination.name": "outbox", "messaging.message.id": str(action.id),
            "incident_bot.action.kind": action.kind, "incident_bot.action.attempt": action.attempts,
        }
        if action.incident_id is not None:
            attributes["incident_bot.incident.id"] = action.incident_id
        with tracer().start_as_current_span(f"deliver {action.kind}", context=action_context(action.trace_context),
                                            kind=SpanKind.CONSUMER, attributes=attributes):
            return await self._deliver(action)

    def _count(self, kind: str, outcome: str) -> None:
        self._metrics.outbox_actions.labels(kind, outcome).inc()
        span = get_current_span()
        span.set_attribute("incident_bot.outcome", outcome)
        if outcome in ("failed", "retried"):
            span.set_status(Status(StatusCode.ERROR, f"action {outcome}"))

    async def _deliver(self, action: outbox.ClaimedAction) -> outbox.ClaimedAction | None:
        """Carry out ``action`` and record how it ended; the key's next action if this one is
        over (done or failed for good) and the next may run now."""
        bound = log.bind(action_id=action.id, kind=action.kind, incident_id=action.incident_id)
        try:
            done = await self._run(action)
        except RateLimited as exc:  # also NotReady: another queue's action has not happened yet
            await self._retry(action, exc.retry_after, str(exc), count_attempt=False)
            outcome = "waiting" if isinstance(exc, NotReady) else "rate_limited"
            self._count(action.kind, outcome)
            return None
        except TransientFailure as exc:
            limit = retry_limit(action.kind)
            if limit is not None and action.attempts >= limit:
                bound.error("outbox: action still failing after its last retry", error=str(exc), attempt=action.attempts)
                next_action = await self._fail(action, PermanentFailure(
                    exc.operation, f"{exc.error} (gave up after {action.attempts} attempts)", service=exc.service,
                    hint=exc.hint))
                self._count(action.kind, "failed")
                return next_action
            delay = backoff(action.attempts, cap=self._backoff_cap(exc))
            bound.warning("outbox: transient failure, will retry", error=str(exc), retry_in=round(delay, 2),
                          attempt=action.attempts)
            await self._retry(action, delay, str(exc), outage=exc)
            self._count(action.kind, "retried")
            return None
        except PermanentFailure as exc:
            bound.error("outbox: action failed permanently", error=str(exc))
            next_action = await self._fail(action, exc)
            self._count(action.kind, "failed")
            return next_action
        except StorageError as exc:
            bound.warning("outbox: database unavailable during action, will retry", error=str(exc))
            return None  # the lease expires and the action is claimed again
        next_action = await self._db.write(self._complete, action, done, self._clock())
        self._count(action.kind, "done")
        return next_action

    @staticmethod
    def _backoff_cap(exc: TransientFailure) -> float:
        # Slack comes back within seconds and a retry is cheap; another service that is down
        # is asked again less often (trackers and pagers are retried for as long as it takes).
        return MAX_BACKOFF_SECONDS if exc.service == "slack" else MAX_EXTERNAL_BACKOFF_SECONDS

    def _complete(self, session: Session, action: outbox.ClaimedAction, done: Done,
                  now: datetime) -> outbox.ClaimedAction | None:
        """The outcome and its write-backs, and the lease of the key's next action: one transaction."""
        if done.incident_updates and action.incident_id is not None:
            repo.update_incident(session, action.incident_id, **done.incident_updates)
        if done.group_updates and "group_id" in action.payload:
            repo.update_group(session, int(action.payload["group_id"]), **done.group_updates)
        outbox.finish(session, action.id, state="done", now=now, result=done.result)
        if done.events and action.incident_id is not None:
            repo.append_events(session, action.incident_id, done.events)
        outbox.finish_absorbed(session, done.absorbed, into=action.id, now=now)
        self._outages.recovered(session, action)
        return self._claim_next(session, action)

    async def _retry(self, action: outbox.ClaimedAction, delay: float, error: str, count_attempt: bool = True,
                     outage: TransientFailure | None = None) -> None:
        at = self._clock() + timedelta(seconds=delay)

        def unit(session: Session) -> None:
            outbox.retry_later(session, action.id, at=at, error=error, count_attempt=count_attempt)
            if outage is not None:
                self._outages.unavailable(session, action, outage)
        await self._db.write(unit)

    async def _fail(self, action: outbox.ClaimedAction, exc: PermanentFailure) -> outbox.ClaimedAction | None:
        """Record the failure on the action and the timeline, and tell the channel; then lease
        the key's next action, which does not wait for this one any longer."""
        now = self._clock()
        notice = describe_failure(action.kind, action.payload, exc.error, service=exc.service, hint=exc.hint)

        def unit(session: Session) -> outbox.ClaimedAction | None:
            outbox.finish(session, action.id, state="failed", now=now, error=str(exc))
            if action.incident_id is not None:
                repo.append_events(session, action.incident_id, [NewEvent(
                    EventKind.SLACK_ACTION_FAILED, "bot",
                    {"action": action.kind, "error": exc.error, "method": exc.operation, "service": exc.service,
                     "notice": notice},
                    occurred_at=now, recorded_at=now)])
                if action.payload.get("purpose") != "notice":  # a notice about a notice would loop
                    tell_channel(session, action.incident_id, notice, now, mention_commander=exc.service != "slack")
            return self._claim_next(session, action)
        return await self._db.write(unit)


def _with_incident(session: Session, action: outbox.ClaimedAction) -> outbox.ClaimedAction:
    """The action with its incident as this transaction sees it (with the write-backs of the
    key's earlier actions), so its handler needs no read of its own for the row."""
    if action.incident_id is None:
        return action
    return dataclasses.replace(action, incident=repo.get_incident(session, action.incident_id))


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
