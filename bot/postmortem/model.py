"""What a postmortem is rendered from: plain, immutable copies of the stored incident,
its timeline events and its alerts.

The storage layer builds these (``from_row`` copies any object with the same attribute
names, such as the ORM rows in :mod:`storage.models`); the renderer never touches a
database or Slack. Every datetime must be timezone-aware; the renderer shows it in UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

__all__ = ["AlertRecord", "EventRecord", "IncidentRecord"]


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """The incident as stored now (its final state, for a resolved incident)."""

    id: int
    title: str
    severity: str
    status: str  # investigating|identified|monitoring|resolved
    source: str  # "alertmanager", "human" or "storm"
    playbook: str
    route: str
    commander: str | None
    declared_by: str | None
    channel_name: str
    channel_id: str | None
    opened_at: datetime
    acknowledged_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    roles: Mapping[str, str] = field(default_factory=dict)  # role name -> Slack user id

    @classmethod
    def from_row(cls, row: Any) -> IncidentRecord:
        values = {f.name: getattr(row, f.name) for f in fields(cls)}
        values["roles"] = dict(values["roles"] or {})
        return cls(**values)


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One timeline event. ``occurred_at`` orders the timeline (ties broken by ``id``)."""

    id: int
    occurred_at: datetime
    recorded_at: datetime
    kind: str
    actor: str  # "alertmanager", "bot", or a Slack user id
    data: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Any) -> EventRecord:
        return cls(row.id, row.occurred_at, row.recorded_at, row.kind, row.actor, row.data or {})


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One alert instance of the incident (Alertmanager fingerprint plus ``startsAt``)."""

    fingerprint: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime
    ends_at: datetime | None
    status: str  # firing|resolved
    generator_url: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> AlertRecord:
        return cls(row.fingerprint, dict(row.labels or {}), dict(row.annotations or {}), row.starts_at,
                   row.ends_at, row.status, row.generator_url)
