"""Reconciliation with Alertmanager: firing alerts that Alertmanager no longer knows.

Alertmanager re-sends a firing group every repeat_interval; when that stops (a restart
that lost its state, a changed route, a lost notification) an incident can show alerts
as firing that no longer exist. They are marked stale, not resolved (nobody saw them
resolve), on the timeline and in the header, and the commander is told once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy.orm import Session

from bot.adapters.alertmanager import AlertmanagerClient, AlertmanagerError
from bot.clock import Clock
from bot.incident import transitions
from bot.incident.change import IncidentChange
from bot.observability.tracing import tracer
from storage import alerting as repo
from storage import incidents as store
from storage.database import Database

log = structlog.get_logger(__name__)
GRACE = timedelta(minutes=2)  # an alert the bot just learned of may not be listed yet


@dataclass
class StaleChanges:
    newly_stale: dict[int, list[str]] = field(default_factory=dict)
    back: dict[int, list[str]] = field(default_factory=dict)


def diff(firing: list[tuple[int, str, datetime, datetime | None, str | None]], known: set[str], now: datetime,
         grace: timedelta = GRACE) -> StaleChanges:
    """Which stored firing alerts went missing from Alertmanager, and which came back. Pure."""
    changes = StaleChanges()
    for incident_id, fingerprint, first_seen, stale_since, _ in firing:
        if fingerprint in known:
            if stale_since is not None:
                changes.back.setdefault(incident_id, []).append(fingerprint)
        elif stale_since is None and now - first_seen >= grace:
            changes.newly_stale.setdefault(incident_id, []).append(fingerprint)
    return changes


class Reconciler:
    def __init__(self, db: Database, alertmanager: AlertmanagerClient, clock: Clock,
                 on_commit: Callable[[], None], grace: timedelta = GRACE) -> None:
        self._grace = grace
        self._db = db
        self._alertmanager = alertmanager
        self._clock = clock
        self._on_commit = on_commit

    async def run(self) -> StaleChanges:
        try:
            known = await self._alertmanager.active_fingerprints()
        except AlertmanagerError as exc:
            log.warning("reconciliation skipped: Alertmanager unavailable", error=str(exc))
            return StaleChanges()
        now = self._clock()
        firing = await self._db.read(repo.open_incident_firing)
        changes = diff(firing, known, now, self._grace)
        if changes.newly_stale or changes.back:
            # A trace only when something changes: the Slack notices it enqueues join it.
            with tracer().start_as_current_span("reconcile with alertmanager", attributes={
                    "incident_bot.stale_alerts": sum(map(len, changes.newly_stale.values())),
                    "incident_bot.back_alerts": sum(map(len, changes.back.values()))}):
                await self._db.write(self._apply, changes, now)
            self._on_commit()
        return changes

    def _apply(self, session: Session, changes: StaleChanges, now: datetime) -> None:
        for incident_id, fingerprints in changes.back.items():
            repo.set_stale(session, incident_id, fingerprints, None)
        for incident_id, fingerprints in changes.newly_stale.items():
            incident = store.lock_incident(session, incident_id)
            if incident is None or incident.status == "resolved":
                continue
            change = IncidentChange(incident, "bot", now)
            transitions.alerts_went_stale(session, change, fingerprints)
            change.flush(session)
