"""An outage of a service other than Slack (an issue tracker, PagerDuty, Grafana, a
webhook) is told to the incident's commander once: when its first action fails, not on
every retry or for every action; the first success afterwards ends the outage, so the next
one is told again. Both are events on the incident's timeline, written in the same
transaction as the outcome that caused them.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.delivery.failure_words import service_name
from bot.domain.failures import TransientFailure
from bot.domain.kinds import ActionKind, EventKind, action_service, retry_limit
from bot.slack.blocks import escape
from storage import alerting as repo
from storage import incidents as store
from storage.outbox import ClaimedAction
from storage.rows import NewEvent

_OUTAGE_KINDS = (EventKind.SERVICE_UNAVAILABLE, EventKind.SERVICE_RECOVERED)



class OutageNotices:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def unavailable(self, session: Session, action: ClaimedAction, exc: TransientFailure) -> None:
        if exc.service == "slack" or action.incident_id is None:
            return
        last = store.last_event_about(session, action.incident_id, _OUTAGE_KINDS, "service", exc.service)
        if last == EventKind.SERVICE_UNAVAILABLE:
            return  # already told during this outage
        now = self._clock()
        repo.append_events(session, action.incident_id, [NewEvent(
            EventKind.SERVICE_UNAVAILABLE, "bot", {"service": exc.service, "error": exc.error, "action": action.kind},
            occurred_at=now, recorded_at=now)])
        incident = repo.get_incident(session, action.incident_id)
        if incident is None or not incident.channel_id:
            return
        mention = f"<@{incident.commander}> " if incident.commander else ""
        promise = ("incident-bot keeps retrying and loses nothing" if retry_limit(action.kind) is None
                   else "incident-bot retries for a while and says so if it gives up")
        text = (f":hourglass: {mention}{service_name(exc.service)} is not answering (`{escape(exc.error)}`): "
                f"{promise}; this is said once until it answers again.")
        repo.enqueue(session, ordering_key=f"incident:{action.incident_id}", incident_id=action.incident_id,
                     kind=ActionKind.MESSAGE_POST, payload={"text": text, "purpose": "notice"}, now=now)

    def recovered(self, session: Session, action: ClaimedAction) -> None:
        service = action_service(action.kind)
        if service == "slack" or action.incident_id is None:
            return
        last = store.last_event_about(session, action.incident_id, _OUTAGE_KINDS, "service", service)
        if last != EventKind.SERVICE_UNAVAILABLE:
            return
        now = self._clock()
        repo.append_events(session, action.incident_id, [NewEvent(
            EventKind.SERVICE_RECOVERED, "bot", {"service": service}, occurred_at=now, recorded_at=now)])
