"""What an incident's header shows of its alerts and silences, read in a bounded number of
rows: the first few firing alerts, how many fire, and the active silences. The outbox reads it
in the transaction that leases a header action (on SQLite, the writer thread), so it must cost
the same for an alert storm of thousands as for two alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from storage.incidents import firing_count
from storage.models import Alert, IncidentEvent, table_of

_ALERTS = table_of(Alert)
_EVENTS = table_of(IncidentEvent)
_FIRST_FIRING = (select(_ALERTS.c.labels, _ALERTS.c.annotations, _ALERTS.c.fingerprint, _ALERTS.c.stale_since)
                 .where(_ALERTS.c.incident_id == bindparam("incident_id"), _ALERTS.c.status == "firing")
                 .order_by(_ALERTS.c.starts_at, _ALERTS.c.id).limit(bindparam("limit")))
_SILENCE_EVENTS = (select(_EVENTS.c.kind, _EVENTS.c.data)
                   .where(_EVENTS.c.incident_id == bindparam("incident_id"),
                          _EVENTS.c.kind.in_(("silence.created", "silence.expired")))
                   .order_by(_EVENTS.c.id))

# (labels, annotations, fingerprint, stale) of one firing alert
AlertDetail = tuple[dict[str, str], dict[str, str], str, bool]


@dataclass(frozen=True, slots=True)
class HeaderAlerts:
    shown: list[AlertDetail]  # the oldest firing alerts, up to the limit asked for
    firing: int  # how many fire in all
    silenced_until: datetime | None  # the latest end of the bot's active silences for the incident


def header_alerts(session: Session, incident_id: int, limit: int, now: datetime) -> HeaderAlerts:
    params = {"incident_id": incident_id, "limit": limit}
    shown: list[AlertDetail] = [(dict(labels), dict(annotations), fp, stale is not None)
                                for labels, annotations, fp, stale in session.execute(_FIRST_FIRING, params)]
    firing = len(shown) if len(shown) < limit else firing_count(session, incident_id)
    active: dict[str, datetime] = {}
    for kind, data in session.execute(_SILENCE_EVENTS, params):  # created, then maybe expired, per silence id
        if kind == "silence.created":
            active[str(data["id"])] = datetime.fromisoformat(str(data["ends_at"]))
        else:
            active.pop(str(data["id"]), None)
    return HeaderAlerts(shown, firing, max((end for end in active.values() if end > now), default=None))
