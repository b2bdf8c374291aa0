"""Read-side queries for the API, metrics and the CLI."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Incident


def open_incidents_by_severity(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(Incident.severity, func.count()).where(Incident.status != "resolved").group_by(Incident.severity)
    )
    return {severity: int(count) for severity, count in rows}
