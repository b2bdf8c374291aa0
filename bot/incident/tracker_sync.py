"""Closing a follow-up's issue in its tracker marks the follow-up done here: every
``TRACKER_SYNC_SECONDS`` the open follow-ups' issues are read, least recently read first.

Replicas may sync at the same time: a follow-up is closed only while open, and the timeline
event and the channel's announcement are written only by the transaction that closed it.
A tracker that fails is logged and counted; those follow-ups are read again next round and
nothing is closed on its account.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import structlog
from sqlalchemy.orm import Session

from bot.adapters.github import GitHubClient, issue_number
from bot.adapters.jira import JiraClient
from bot.clock import Clock
from bot.domain.failures import DeliveryError
from bot.incident.change import IncidentChange
from bot.incident.followups import close_followup
from bot.observability.metrics import Metrics
from bot.slack.blocks import link
from storage import followups, incidents
from storage.database import Database
from storage.rows import FollowUpRow

log = structlog.get_logger(__name__)

BATCH = 200
CONCURRENCY = 8


class TrackerSync:
    def __init__(self, db: Database, clock: Clock, metrics: Metrics, github: GitHubClient | None,
                 jira: JiraClient | None, on_commit: Callable[[], None] = lambda: None, *, batch: int = BATCH) -> None:
        self._db = db
        self._clock = clock
        self._metrics = metrics
        self._github = github
        self._jira = jira
        self._on_commit = on_commit
        self._batch = batch
        self._slots = asyncio.Semaphore(CONCURRENCY)

    async def run(self) -> int:
        """Read one batch of open follow-ups' issues; the number of follow-ups this closed."""
        due = await self._db.read(followups.open_with_tracker_issue, self._batch)
        if not due:
            return 0
        states = await asyncio.gather(*(self._is_closed(f) for f in due))
        checked = [f.id for f, state in zip(due, states, strict=True) if state is not None]
        done = [f for f, state in zip(due, states, strict=True) if state]
        closed = await self._db.write(_record, checked, done, self._clock())
        if closed:
            log.info("trackers: follow-ups closed in their tracker marked done", followups=closed)
            self._on_commit()
        return closed

    async def _is_closed(self, followup: FollowUpRow) -> bool | None:
        """True or False as the tracker says; None when it could not say."""
        tracker, key = str(followup.tracker), str(followup.tracker_key)
        async with self._slots:
            try:
                if tracker == "github" and self._github is not None:
                    closed = await self._github.is_closed(*issue_number(key))
                elif tracker == "jira" and self._jira is not None:
                    closed = await self._jira.is_closed(key)
                else:
                    self._metrics.tracker_checks.labels(tracker, "error").inc()
                    log.warning("trackers: follow-up's tracker is not configured, not checked", tracker=tracker,
                                key=key, followup_id=followup.id)
                    return None
            except DeliveryError as exc:
                self._metrics.tracker_checks.labels(tracker, "error").inc()
                log.warning("trackers: could not read the issue, will retry next round", tracker=tracker, key=key,
                            error=str(exc), hint=exc.hint)
                return None
        self._metrics.tracker_checks.labels(tracker, "closed" if closed else "open").inc()
        return closed


def _record(session: Session, checked: list[int], done: list[FollowUpRow], now: datetime) -> int:
    # Incidents are locked in id order, so two replicas closing the same follow-ups never deadlock.
    closed = sum(close_from_tracker(session, followup, now) for followup in sorted(done, key=lambda f: f.incident_id))
    followups.mark_checked(session, sorted(checked), now)
    return closed


def close_from_tracker(session: Session, followup: FollowUpRow, now: datetime) -> bool:
    """Done here because its issue is closed there; False if it was not open any more."""
    incident = incidents.lock_incident(session, followup.incident_id)
    if incident is None:
        return False
    change = IncidentChange(incident, "tracker", now)
    issue = link(str(followup.tracker_url), str(followup.tracker_key)) if followup.tracker_url else "its issue"
    closed = close_followup(session, change, followup, "done",
                            details={"by": "tracker", "tracker_key": followup.tracker_key, "url": followup.tracker_url},
                            announcement=f":white_check_mark: Follow-up {followup.number} is done: {issue} was closed.")
    if closed:
        change.flush(session)
    return closed
