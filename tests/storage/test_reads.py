"""The read side hands out frozen rows, and finds an incident by its channel the way each caller means."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from storage import alerting, incidents, queries
from storage.database import Database
from storage.rows import AlertGroupRow, AlertRow, EventRow, IncidentRow, NewEvent

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _incident(session: Session, channel_name: str, channel_id: str | None, status: str = "investigating") -> int:
    return alerting.insert_incident(
        session, title=f"{channel_name} is down", status=status, severity="sev2", playbook="default", route="all",
        source="alertmanager", declared_by=None, commander="U1", channel_name=channel_name, channel_id=channel_id,
        header_ts=None, roles={"scribe": "U2"}, storm_key=None, policy={"reopen_window_seconds": 3600},
        opened_at=T0, acknowledged_at=None, mitigated_at=None, resolved_at=None, all_alerts_resolved_at=None,
        updated_at=T0)


def _seed(session: Session) -> tuple[int, int, int]:
    first = _incident(session, "inc-1-api", "C1")
    second = _incident(session, "inc-2-db", None, status="resolved")
    group = alerting.lock_group(session, group_key="{}:{alertname=\"A\"}", receiver="bot",
                                group_labels={"alertname": "A"}, status="firing", body_sha256="0" * 64, now=T0)
    alerting.insert_alerts(session, [{
        "fingerprint": "f1", "starts_at": T0, "group_id": group.id, "incident_id": first, "status": "firing",
        "ends_at": None, "labels": {"alertname": "A"}, "annotations": {"summary": "s"}, "generator_url": None,
        "first_seen_at": T0, "resolved_seen_at": None}])
    alerting.append_events(session, first, [
        NewEvent("note.added", "U1", {"text": f"note {m}"}, occurred_at=T0 + timedelta(minutes=m), recorded_at=T0)
        for m in range(3)])
    return first, second, group.id


async def test_reads_hand_out_frozen_rows_not_orm_objects(db: Database) -> None:
    first, second, group_id = await db.write(_seed)

    page = await db.read(queries.incidents_page, status=None, limit=10, before_id=None)
    detail = await db.read(queries.incident_detail, first)
    opened = await db.read(incidents.open_incidents)
    events = await db.read(incidents.recent_events, first, 2)
    incident = await db.read(alerting.get_incident, first)
    group = await db.read(alerting.get_group, group_id)

    assert [type(i) for i in page] == [IncidentRow, IncidentRow] and [i.id for i in page] == [second, first]
    assert detail is not None and detail.incident == incident
    assert [type(a) for a in detail.alerts] == [AlertRow] and detail.alerts[0].labels == {"alertname": "A"}
    assert [e.data["text"] for e in detail.events] == ["note 0", "note 1", "note 2"]
    assert [i.id for i in opened] == [first]
    assert [type(e) for e in events] == [EventRow, EventRow] and [e.data["text"] for e in events] == ["note 1", "note 2"]
    assert incident is not None and incident.roles == {"scribe": "U2"} and incident.opened_at == T0
    assert isinstance(group, AlertGroupRow) and group.group_labels == {"alertname": "A"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        incident.status = "resolved"  # type: ignore[misc]
    assert await db.read(alerting.get_incident, 999) is None and await db.read(alerting.get_group, 999) is None
    assert await db.read(queries.incident_detail, 999) is None


async def test_a_channel_id_finds_its_incident_and_the_cli_also_takes_a_channel_name(db: Database) -> None:
    first, second, _ = await db.write(_seed)

    assert await db.read(incidents.incident_id_for_channel, "C1") == first
    assert await db.read(incidents.incident_id_for_channel, "inc-1-api") is None  # a name is not an id
    assert await db.read(queries.incident_id_for_channel_id_or_name, "C1") == first
    assert await db.read(queries.incident_id_for_channel_id_or_name, "#inc-2-db") == second
    assert await db.read(queries.incident_id_for_channel_id_or_name, "inc-2-db") == second
    assert await db.read(queries.incident_id_for_channel_id_or_name, "#nowhere") is None
