"""What an action reads about its incident before it calls Slack: the row, and the view the
header, topic and purpose are rendered from. Both usually come with the action: the worker
reads them in the transaction that leases the action (:meth:`IncidentReads.prefetch`), so no
read of its own is needed."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.delivery.outcome import MissingPrerequisite
from bot.domain.decide import alert_detail
from bot.domain.kinds import ActionKind
from bot.domain.links import incident_page_url
from bot.playbook import PlaybookSet
from bot.slack import blocks
from storage import alerting as repo
from storage import header_reads
from storage.database import Database
from storage.outbox import ClaimedAction
from storage.rows import IncidentRow

HEADER_KINDS = frozenset({ActionKind.MESSAGE_HEADER, ActionKind.MESSAGE_UPDATE_HEADER})
HEADER_ROWS = blocks.MAX_HEADER_ALERTS  # the alerts a header lists; the rest it counts
UNKNOWN_RANK = 9  # an incident whose playbook is gone sorts after every known severity


class IncidentReads:
    def __init__(self, db: Database, playbooks: Callable[[], PlaybookSet], clock: Clock,
                 public_url: str | None = None) -> None:
        self._db = db
        self._playbooks = playbooks
        self._clock = clock
        self._public_url = public_url  # where the header's "Open in browser" points; None: no link

    def prefetch(self, session: Session, action: ClaimedAction) -> ClaimedAction:
        """In the transaction that leases ``action``: its incident row, and for a header what the
        header shows of the alerts, so the handler reads nothing before its Slack call (these
        are a few indexed rows, whatever the size of the incident)."""
        if action.incident_id is None:
            return action
        incident = repo.get_incident(session, action.incident_id)
        header = None
        if incident is not None and action.kind in HEADER_KINDS:
            header = header_reads.header_alerts(session, action.incident_id, HEADER_ROWS, self._clock())
        return dataclasses.replace(action, incident=incident, header=header)

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
        """The incident and the view its header is rendered from, with the firing alerts and
        active silences: as read with the lease, or read now in one transaction."""
        assert action.incident_id is not None
        if action.incident is not None and action.header is not None:
            return action.incident, self._view(action.incident, action.header)
        incident_id, known, now = action.incident_id, action.incident, self._clock()

        def read(session: Session) -> tuple[IncidentRow | None, header_reads.HeaderAlerts | None]:
            incident = known if known is not None else repo.get_incident(session, incident_id)
            if incident is None:
                return None, None
            return incident, header_reads.header_alerts(session, incident_id, HEADER_ROWS, now)
        incident, header = await self._db.read(read)
        if incident is None or header is None:
            raise MissingPrerequisite("incident", f"incident {incident_id} no longer exists")
        return incident, self._view(incident, header)

    def _view(self, incident: IncidentRow, header: header_reads.HeaderAlerts | None) -> blocks.IncidentView:
        try:
            rank = self._playbooks().get(incident.playbook).severity_rank(incident.severity)
        except KeyError:
            rank = UNKNOWN_RANK
        lines = [] if header is None else [
            blocks.AlertLine(str(labels.get("alertname", fp)), alert_detail(labels, fp),
                             str(annotations.get("summary", "")), stale)
            for labels, annotations, fp, stale in header.shown]
        return blocks.IncidentView(
            id=incident.id, title=incident.title, severity=incident.severity, severity_rank=rank,
            status=incident.status, commander=incident.commander, opened_at=incident.opened_at,
            source=incident.source, route=f"{incident.playbook}/{incident.route}", firing=lines,
            firing_count=None if header is None else header.firing,
            acknowledged=incident.acknowledged_at is not None,
            all_alerts_resolved=incident.all_alerts_resolved_at is not None,
            silenced_until=None if header is None else header.silenced_until,
            page_url=incident_page_url(self._public_url, incident.id) if self._public_url else None,
        )

    async def with_channel(self, action: ClaimedAction) -> tuple[IncidentRow, blocks.IncidentView, str]:
        """The incident, its header's view and its channel."""
        incident, view = await self.view(action)
        if not incident.channel_id:
            raise MissingPrerequisite(action.kind, "the incident channel was never created")
        return incident, view, incident.channel_id

    async def row_view(self, action: ClaimedAction) -> tuple[blocks.IncidentView, str]:
        """The view of the incident's row alone (what the topic and purpose show: no alerts,
        no silences), and its channel."""
        incident, channel = await self.channel_only(action)
        return self._view(incident, None), channel

    async def channel_only(self, action: ClaimedAction) -> tuple[IncidentRow, str]:
        """The incident and its channel, without the view: a storm incident's view reads
        thousands of alerts, which a plain message, pin or bookmark does not need."""
        incident = await self.incident(action)
        if not incident.channel_id:
            raise MissingPrerequisite(action.kind, "the incident channel was never created")
        return incident, incident.channel_id
