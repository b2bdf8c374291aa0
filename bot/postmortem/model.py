"""What a postmortem is rendered from: plain, immutable copies of the stored incident,
its timeline events and its alerts.

The storage layer builds these (``from_row`` copies any object with the same attribute
names, such as the ORM rows in :mod:`storage.models`); the renderer never touches a
database or Slack. Every datetime must be timezone-aware; the renderer shows it in UTC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Protocol, TypeAlias

__all__ = ["AlertRecord", "AlertSource", "EventRecord", "EventSource", "FollowUpRecord", "IncidentRecord",
           "IncidentSource", "JSONValue", "PostmortemRecord"]

# What an event's JSON ``data`` holds. The renderer checks a value's type before relying on it.
JSONValue: TypeAlias = "str | int | float | bool | Sequence[JSONValue] | Mapping[str, JSONValue] | None"


class IncidentSource(Protocol):
    """What :meth:`IncidentRecord.from_row` reads: a stored incident (ORM object or row)."""

    @property
    def id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def playbook(self) -> str: ...
    @property
    def route(self) -> str: ...
    @property
    def commander(self) -> str | None: ...
    @property
    def declared_by(self) -> str | None: ...
    @property
    def channel_name(self) -> str: ...
    @property
    def channel_id(self) -> str | None: ...
    @property
    def opened_at(self) -> datetime: ...
    @property
    def acknowledged_at(self) -> datetime | None: ...
    @property
    def mitigated_at(self) -> datetime | None: ...
    @property
    def resolved_at(self) -> datetime | None: ...
    @property
    def roles(self) -> Mapping[str, str] | None: ...


class EventSource(Protocol):
    """What :meth:`EventRecord.from_row` reads: a stored timeline event."""

    @property
    def id(self) -> int: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def recorded_at(self) -> datetime: ...
    @property
    def kind(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def data(self) -> Mapping[str, JSONValue] | None: ...


class AlertSource(Protocol):
    """What :meth:`AlertRecord.from_row` reads: a stored alert."""

    @property
    def fingerprint(self) -> str: ...
    @property
    def labels(self) -> Mapping[str, str] | None: ...
    @property
    def annotations(self) -> Mapping[str, str] | None: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime | None: ...
    @property
    def status(self) -> str: ...
    @property
    def generator_url(self) -> str | None: ...


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
    def from_row(cls, row: IncidentSource) -> IncidentRecord:
        values = {f.name: getattr(row, f.name) for f in fields(cls)}
        values["roles"] = dict(row.roles or {})
        return cls(**values)


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One timeline event. ``occurred_at`` orders the timeline (ties broken by ``id``)."""

    id: int
    occurred_at: datetime
    recorded_at: datetime
    kind: str
    actor: str  # "alertmanager", "bot", or a Slack user id
    data: Mapping[str, JSONValue] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: EventSource) -> EventRecord:
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
    def from_row(cls, row: AlertSource) -> AlertRecord:
        return cls(row.fingerprint, dict(row.labels or {}), dict(row.annotations or {}), row.starts_at,
                   row.ends_at, row.status, row.generator_url)


@dataclass(frozen=True, slots=True)
class PostmortemRecord:
    """The postmortem as tracked work: who owns it, by when, how far it is."""

    owner: str  # Slack user id
    status: str  # draft|in_review|published
    due_at: datetime | None = None
    published_at: datetime | None = None
    suspended: bool = False  # the incident was reopened: the clock stands still


@dataclass(frozen=True, slots=True)
class FollowUpRecord:
    """One follow-up (action item), numbered per incident from 1."""

    number: int
    text: str
    owner: str | None
    due_at: datetime | None
    status: str  # open|done|dropped
    tracker_url: str | None = None
    tracker_key: str | None = None
