"""What an action reads about its incident before it calls Slack: the row, and the view the
header, topic and purpose are rendered from."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

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

UNKNOWN_RANK = 9  # an incident whose playbook is gone sorts after every known severity


class IncidentReads:
    def __init__(self, db: Database, playbooks: Callable[[], PlaybookSet], clock: Clock,
                 public_url: str | None = None) -> None:
        self._db = db
        self._playbooks = playbooks
        self._clock = clock
        self._public_url = public_url  # where the header's "Open in browser" points; None: no link

    async def view(self, incident_id: int) -> tuple[IncidentRow, blocks.IncidentView]:
        async with self._db.reading() as session:
            incident = await session.run_sync(repo.get_incident, incident_id)
            if incident is None:
                raise MissingPrerequisite("incident", f"incident {incident_id} no longer exists")
            firing = await session.run_sync(repo.firing_alert_details, incident_id)
            silences = await session.run_sync(store.active_silences, incident_id, self._clock())
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
        assert action.incident_id is not None
        incident, view = await self.view(action.incident_id)
        if not incident.channel_id:
            raise MissingPrerequisite(action.kind, "the incident channel was never created")
        return incident, view, incident.channel_id

    async def channel_only(self, action: ClaimedAction) -> tuple[IncidentRow, str]:
        """The incident and its channel, without the view: a storm incident's view reads
        thousands of alerts, which a plain message, pin or bookmark does not need."""
        assert action.incident_id is not None
        async with self._db.reading() as session:
            incident = await session.run_sync(repo.get_incident, action.incident_id)
        if incident is None:
            raise MissingPrerequisite("incident", f"incident {action.incident_id} no longer exists")
        if not incident.channel_id:
            raise MissingPrerequisite(action.kind, "the incident channel was never created")
        return incident, incident.channel_id
