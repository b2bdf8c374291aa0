"""What storage hands out: frozen rows, never ORM objects.

Code outside ``storage/`` reads these and asks a repository function to change the
database; it never holds a session-bound object it could change by assignment. Each
type mirrors a table of :mod:`storage.models`; ``from_orm`` builds one from a mapped
object or a Core row with the same attribute names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import Field, dataclass, fields
from datetime import datetime
from typing import Any, ClassVar, NamedTuple, Self, TypeAlias

# What a JSON document column holds.
JSONValue: TypeAlias = "str | int | float | bool | list[JSONValue] | dict[str, JSONValue] | None"

__all__ = ["AlertGroupRow", "AlertRow", "BoardFollowUp", "ClosedFollowUp", "EventRow", "FollowUpRow",
           "IncidentDetail", "IncidentRow", "IncidentsPage", "JSONValue", "NewEvent", "PostmortemRow",
           "PostmortemVersionRow", "SigninRow", "TimelineWindow", "VersionSummary", "WebSessionRow"]


class _FromORM:
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    @classmethod
    def from_orm(cls, obj: object) -> Self:
        names = _FIELD_NAMES.get(cls)
        if names is None:  # dataclasses.fields() per row was a tenth of reading one
            names = _FIELD_NAMES[cls] = tuple(field.name for field in fields(cls))
        return cls(**{name: getattr(obj, name) for name in names})


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


@dataclass(frozen=True, slots=True)
class IncidentRow(_FromORM):
    id: int
    title: str
    status: str
    severity: str
    playbook: str
    route: str
    source: str
    declared_by: str | None
    commander: str | None
    channel_name: str
    channel_id: str | None
    header_ts: str | None
    roles: Mapping[str, str]
    storm_key: str | None
    policy: Mapping[str, JSONValue]
    opened_at: datetime
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    all_alerts_resolved_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class EventRow(_FromORM):
    id: int
    incident_id: int
    occurred_at: datetime
    recorded_at: datetime
    kind: str
    actor: str
    data: Mapping[str, JSONValue]


@dataclass(frozen=True, slots=True)
class AlertRow(_FromORM):
    id: int
    fingerprint: str
    starts_at: datetime
    group_id: int
    incident_id: int | None
    status: str
    ends_at: datetime | None
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    generator_url: str | None
    first_seen_at: datetime
    resolved_seen_at: datetime | None
    stale_since: datetime | None


@dataclass(frozen=True, slots=True)
class AlertGroupRow(_FromORM):
    id: int
    group_key: str
    receiver: str
    group_labels: Mapping[str, str]
    route: str | None
    incident_id: int | None
    last_status: str
    first_seen_at: datetime
    last_seen_at: datetime
    last_body_sha256: str | None
    triage_channel_id: str | None
    triage_ts: str | None


@dataclass(frozen=True, slots=True)
class PostmortemRow(_FromORM):
    incident_id: int
    status: str  # draft|in_review|published
    owner: str
    due_at: datetime | None
    suspended_remaining_seconds: float | None
    escalated_at: datetime | None
    published_at: datetime | None
    published_by: str | None
    document: Mapping[str, JSONValue] | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class FollowUpRow(_FromORM):
    id: int
    incident_id: int
    number: int
    text: str
    owner: str | None
    due_at: datetime | None
    status: str  # open|done|dropped
    created_by: str
    created_at: datetime
    source: str
    message_link: str | None
    closed_at: datetime | None
    closed_by: str | None
    close_reason: str | None
    tracker: str | None
    tracker_key: str | None
    tracker_url: str | None
    tracker_checked_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PostmortemVersionRow(_FromORM):
    id: int
    incident_id: int
    number: int  # per incident from 1
    body: str  # Markdown
    author: str  # Slack user id
    created_at: datetime


@dataclass(frozen=True, slots=True)
class VersionSummary:
    """A postmortem version without its body, for the list of versions."""

    id: int
    incident_id: int
    number: int
    author: str
    created_at: datetime
    length: int  # characters of the body


@dataclass(frozen=True, slots=True)
class WebSessionRow(_FromORM):
    id_hash: str  # SHA-256 hex of the session token
    user_id: str
    team_id: str
    name: str
    email: str | None
    csrf_token: str
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True, slots=True)
class SigninRow(_FromORM):
    state: str
    nonce: str
    return_to: str
    created_at: datetime
    used_at: datetime | None


@dataclass(frozen=True, slots=True)
class IncidentsPage:
    """One page of the workspace's incident list, newest first."""

    rows: tuple[IncidentRow, ...]
    total: int  # incidents matching the filters, on every page
    has_next: bool
    page: int  # from 1
    per_page: int


@dataclass(frozen=True, slots=True)
class TimelineWindow:
    """Consecutive timeline events, oldest first; ``has_older``: there are events before the first."""

    events: tuple[EventRow, ...]
    has_older: bool

    @property
    def oldest_id(self) -> int | None:
        """The ``before_id`` that gives the window before this one."""
        return self.events[0].id if self.events else None

    @property
    def newest_id(self) -> int | None:
        return self.events[-1].id if self.events else None


@dataclass(frozen=True, slots=True)
class BoardFollowUp:
    """A follow-up on the board, with the incident it came from."""

    followup: FollowUpRow
    incident_id: int
    incident_title: str
    incident_status: str
    incident_severity: str


@dataclass(frozen=True, slots=True)
class ClosedFollowUp:
    """When a follow-up was closed, for the insights."""

    incident_id: int
    number: int
    status: str  # done|dropped
    created_at: datetime
    due_at: datetime | None
    closed_at: datetime


class IncidentDetail(NamedTuple):
    """An incident with its alerts (oldest activation first) and its whole timeline (in order)."""

    incident: IncidentRow
    alerts: tuple[AlertRow, ...]
    events: tuple[EventRow, ...]


@dataclass(frozen=True, slots=True)
class NewEvent:
    """A timeline event to append: every writer builds its rows with this, and
    ``alerting.append_events`` attaches the incident id and writes them."""

    kind: str
    actor: str
    data: Mapping[str, object]  # JSON-serialisable; read back as JSONValue
    occurred_at: datetime
    recorded_at: datetime

    def values(self, incident_id: int) -> dict[str, object]:
        # str(): an enum member (bot.domain.kinds) goes to the driver as its plain value
        return {"incident_id": incident_id, "occurred_at": self.occurred_at, "recorded_at": self.recorded_at,
                "kind": str(self.kind), "actor": self.actor, "data": dict(self.data)}
