"""Incidents, events and alerts written straight through storage, for the web workspace's storage tests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from storage import alerting
from storage.database import Database
from storage.models import IncidentEvent
from storage.rows import NewEvent

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def insert_incident(session: Session, title: str = "api is down", *, status: str = "investigating",
                    severity: str = "sev2", route: str = "all", opened_at: datetime = T0,
                    acknowledged_at: datetime | None = None, resolved_at: datetime | None = None) -> int:
    return alerting.insert_incident(
        session, title=title, status=status, severity=severity, playbook="default", route=route,
        source="alertmanager", declared_by=None, commander="UCMD", channel_name="inc-api", channel_id=None,
        header_ts=None, roles={}, storm_key=None, policy={}, opened_at=opened_at, acknowledged_at=acknowledged_at,
        mitigated_at=None, resolved_at=resolved_at, all_alerts_resolved_at=None, updated_at=opened_at)


def notes(session: Session, incident_id: int, texts: Sequence[str], at: datetime = T0) -> list[int]:
    """A note per text, one second apart; their event ids."""
    alerting.append_events(session, incident_id, [
        NewEvent("note.added", "U1", {"text": text}, occurred_at=at + timedelta(seconds=i), recorded_at=at)
        for i, text in enumerate(texts)])
    newest = session.execute(select(IncidentEvent.id).where(IncidentEvent.incident_id == incident_id)
                             .order_by(IncidentEvent.id.desc()).limit(len(texts))).scalars()
    return sorted(newest)


def alert(session: Session, incident_id: int, fingerprint: str, *, name: str = "HighErrorRate",
          starts_at: datetime = T0, status: str = "firing", ends_at: datetime | None = None) -> None:
    group = alerting.lock_group(session, group_key=f'{{}}:{{alertname="{name}"}}', receiver="bot",
                                group_labels={"alertname": name}, status="firing", body_sha256="0" * 64, now=T0)
    alerting.insert_alerts(session, [{
        "fingerprint": fingerprint, "starts_at": starts_at, "group_id": group.id, "incident_id": incident_id,
        "status": status, "ends_at": ends_at, "labels": {"alertname": name, "instance": fingerprint},
        "annotations": {"summary": f"{name} on {fingerprint}"}, "generator_url": None, "first_seen_at": starts_at,
        "resolved_seen_at": ends_at}])


async def until_a_transaction_waits_for_a_lock(db: Database, timeout: float = 10.0) -> None:
    """Return once a session of this PostgreSQL database is waiting for a lock (a row or a unique key)."""
    waiting = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
    async with asyncio.timeout(timeout):
        while True:
            async with db.reading() as session:
                if (await session.execute(waiting)).scalar_one():
                    return
            await asyncio.sleep(0.02)
