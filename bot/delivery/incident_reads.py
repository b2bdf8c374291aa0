"""What an action reads about its incident before it calls Slack: the row, and the view the
header, topic and purpose are rendered from. The row usually comes with the action: the
worker reads it in the transaction that leases the action, so no read of its own is needed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.delivery.outcome import MissingPrerequisite
from bot.domain.decide import alert_detail
from bot.domain.links import incident_page_url
from bot.playbook import PlaybookSet
from bot.slack import blocks
from storage import alerting as repo
from storage import incidents as store
from storage.database import Database
from storage.outbox import ClaimedAction
from storage.rows import IncidentRow

# (labels, annotations, fingerprint, stale) of one firing alert, as storage reads it
AlertDetail = tuple[dict[str, str], dict[str, str], str, bool]
UNKNOWN_RANK = 9  # an incident whose playbook is gone sorts after every known severity


class IncidentReads:
    def __init__(self, db: Database, playbooks: Callable[[], PlaybookSet], clock: Clock,
                 public_url: str | None = None) -> None:
        self._db = db
        self._playbooks = playbooks
        self._clock = clock
        self._public_url = public_url  # where the header's "Open in browser" points; None: no link

    async def incident(self, action: ClaimedAction) -> IncidentRow:
        """The action's incident: as the worker read it when it leased the action (in that
        transaction, after the previous action's write-backs), or read now."""
        assert action.incident_id is not None
        if action.incident is not None:
            return action.incident
        incident = await self._db.read(repo.get_incident, action.incident_id)
        if incident is None:
            raise MissingPrerequisite("incident", f"incident {action.incident_id} no longer exists")
        return incident

    async def view(self, action: ClaimedAction) -> tuple[IncidentRow, blocks.IncidentView]:
        """The incident and the view its header, topic and purpose are rendered from: its
        firing alerts and active silences, read in one transaction."""
        assert action.incident_id is not None
        incident_id, known = action.incident_id, action.incident
        now = self._clock()

        def read(session: Session) -> tuple[IncidentRow | None, list[AlertDetail], list[dict[str, object]]]:
            incident = known if known is not None else repo.get_incident(session, incident_id)
            if incident is None:
                return None, [], []
            return (incident, repo.firing_alert_details(session, incident_id),
                    store.active_silences(session, incident_id, now))
        incident, firing, silences = await self._db.read(read)
        if incident is None:
            raise MissingPrerequisite("incident", f"incident {incident_id} no longer exists")
        try:
            rank = self._playbooks().get(incident.playbook).severity_rank(incident.severity)
        except KeyError:
            rank = UNKNOWN_RANK
        lines = [blocks.AlertLine(str(labels.get("alertname", fp)), alert_detail(labels, fp),
                                  str(annotations.get("summary", "")), stale)
                 for labels, annotations, fp, stale in firing]
        view = blocks.IncidentView(
            id=incident.id, title=incident.title, severity=incident.severity, severity_rank=rank,
            status=incident.status, commander=incident.commander, opened_at=incident.opened_at,
            source=incident.source, route=f"{incident.playbook}/{incident.route}", firing=lines,
            acknowledged=incident.acknowledged_at is not None,
            all_alerts_resolved=incident.all_alerts_resolved_at is not None,
            silenced_until=max((datetime.fromisoformat(str(x["ends_at"])) for x in silences), default=None),
            page_url=incident_page_url(self._public_url, incident.id) if self._public_url else None,
        )
        return incident, view

    async def with_channel(self, action: ClaimedAction) -> tuple[IncidentRow, blocks.IncidentView, str]:
        incident, view = await self.view(action)
        if not incident.channel_id:
            raise MissingPrerequisite(action.kind, "the incident channel was never created")
        return incident, view, incident.channel_id

    async def channel_only(self, action: ClaimedAction) -> tuple[IncidentRow, str]:
        """The incident and its channel, without the view: a storm incident's view reads
        thousands of alerts, which a plain message, pin or bookmark does not need."""
        incident = await self.incident(action)
        if not incident.channel_id:
            raise MissingPrerequisite(action.kind, "the incident channel was never created")
        return incident, incident.channel_id
