"""The schema: incidents, alert groups, alerts, the timeline, deliveries, the outbox, postmortems,
follow-ups and the web workspace's sign-ins.

Idempotency lives here as constraints, not only in code: one row per Alertmanager
group key (also the row that serialises a group's deliveries), one alert per
(fingerprint, startsAt).

No ``from __future__ import annotations`` here: the declarative mapping reads every
``Mapped[...]`` annotation, and as strings each is evaluated again (about a tenth of this
module's import, measured).
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeEngine

from storage.types import JSONDocument, UTCDateTime

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGSERIAL.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[Mapping[object, TypeEngine[Any]]] = {
        datetime: UTCDateTime(), dict[str, Any]: JSONDocument,
    }


class Incident(Base):
    """An incident. Its id is the incident number shown to people."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # investigating|identified|monitoring|resolved
    severity: Mapped[str] = mapped_column(String(40))
    playbook: Mapped[str] = mapped_column(String(100))
    route: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(20))  # "alertmanager" or "human"
    declared_by: Mapped[str | None] = mapped_column(String(40))  # Slack user id for human declarations
    commander: Mapped[str | None] = mapped_column(String(40))
    channel_name: Mapped[str] = mapped_column(String(80))
    channel_id: Mapped[str | None] = mapped_column(String(40))
    header_ts: Mapped[str | None] = mapped_column(String(40))  # the pinned header message in Slack
    # role name -> Slack user id
    roles: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict, server_default=text("'{}'"))
    # "<playbook>/<route>|<label>=<value>,...": what the storm guard counts opens by.
    storm_key: Mapped[str | None] = mapped_column(String(300))
    # Rotation, timeouts and cadence in force at open: editing a playbook mid-incident
    # must not change an escalation already under way.
    policy: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    opened_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    mitigated_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    all_alerts_resolved_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_incidents_status", "status"),
        Index("ix_incidents_storm", "storm_key", "opened_at"),
        # The workspace's list filtered by severity or route, newest first.
        Index("ix_incidents_severity_id", "severity", "id"),
        Index("ix_incidents_route_id", "route", "id"),
    )


class StormWindow(Base):
    """One row per storm-guard key: the lock that makes counting recent opens race-free,
    and the storm incident that overflow groups currently join."""

    __tablename__ = "storm_windows"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    storm_incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))


class AlertGroup(Base):
    """One Alertmanager aggregation group, identified by its ``groupKey``.

    The row is also the lock that serialises concurrent deliveries of one group.
    """

    __tablename__ = "alert_groups"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    group_key: Mapped[str] = mapped_column(Text, unique=True)
    receiver: Mapped[str] = mapped_column(String(200))
    group_labels: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    route: Mapped[str | None] = mapped_column(String(200))  # "<playbook>/<route>" last matched
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    last_status: Mapped[str] = mapped_column(String(20))
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    # The body of the last delivery applied: Alertmanager re-sends unchanged groups every
    # repeat_interval, and an identical body needs no decision. The one before it is what the
    # last delivery's upsert handed back (storage.alerting.lock_group).
    last_body_sha256: Mapped[str | None] = mapped_column(String(64))
    previous_body_sha256: Mapped[str | None] = mapped_column(String(64))
    # The triage notice for a recorded-only group: later notifications edit it.
    triage_channel_id: Mapped[str | None] = mapped_column(String(40))
    triage_ts: Mapped[str | None] = mapped_column(String(40))


class Alert(Base):
    """One alert instance: Alertmanager's fingerprint plus its ``startsAt``."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime]
    group_id: Mapped[int] = mapped_column(ForeignKey("alert_groups.id", ondelete="CASCADE"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))  # firing|resolved
    ends_at: Mapped[datetime | None]
    labels: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    annotations: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    generator_url: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[datetime]
    resolved_seen_at: Mapped[datetime | None]
    # Still firing here but gone from Alertmanager: nobody saw it resolve.
    stale_since: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("fingerprint", "starts_at", name="uq_alerts_identity"),
        Index("ix_alerts_incident", "incident_id", "status"),
        Index("ix_alerts_incident_start", "incident_id", "starts_at", "id"),
        Index("ix_alerts_group", "group_id"),
    )


class IncidentEvent(Base):
    """The append-only timeline. Rows are inserted, never updated.

    ``occurred_at`` is when it happened (an alert's startsAt, say); ``recorded_at``
    is when the bot learned of it. The postmortem orders by the former.
    """

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(60))  # "alertmanager", "bot", or a Slack user id
    data: Mapped[dict[str, Any]] = mapped_column(JSONDocument)

    __table_args__ = (
        Index("ix_events_incident_time", "incident_id", "occurred_at", "id"),
        # Windows of the timeline by id (the workspace's pages and its live stream).
        Index("ix_events_incident_id", "incident_id", "id"),
        Index("ix_events_incident_kind", "incident_id", "kind", "id"),
    )


class WebhookDelivery(Base):
    """A raw Alertmanager delivery, kept for audit and replay until retention expires."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime]
    group_key: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    alert_count: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))  # open|join|reopen|record|duplicate
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    body_sha256: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_deliveries_received", "received_at"),)


class OutboxAction(Base):
    """A side effect to deliver after commit (Slack calls), in order per ``ordering_key``.

    Written in the same transaction as the state change it describes; a worker
    delivers it afterwards and records the result here.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    ordering_key: Mapped[str] = mapped_column(String(60))  # "incident:<id>" or "group:<id>"
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    state: Mapped[str] = mapped_column(String(20), default="pending")  # pending|done|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime]
    # A claim is a lease: a worker that dies mid-action loses it and another takes over.
    locked_until: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    # The W3C trace context (traceparent, tracestate) of what enqueued it, so its delivery
    # joins that trace, also in another replica or after a restart.
    trace_context: Mapped[dict[str, str] | None] = mapped_column(JSONDocument)

    __table_args__ = (
        Index("ix_outbox_order", "ordering_key", "id"),
        # Pending rows only (partial indexes, so finished history costs a claim nothing): in
        # id order, which a claim walks; and by key, where it asks whether an earlier one waits.
        # Queries name the state as a literal ('pending'), or these cannot serve them. Partial on
        # PostgreSQL too (migration 0009); not said here, as postgresql_where would import that
        # dialect into every bot, and the schema comparison does not look at an index's WHERE.
        Index("ix_outbox_pending_id", "id", sqlite_where=text("state = 'pending'")),
        Index("ix_outbox_pending_key", "ordering_key", "id", sqlite_where=text("state = 'pending'")),
    )


class Participant(Base):
    """Someone who took part: joined the channel, ran a command, pinned a message."""

    __tablename__ = "participants"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    first_seen_at: Mapped[datetime]


class PinnedMessage(Base):
    """A Slack message put on the timeline with the pin reaction; one row per message."""

    __tablename__ = "pinned_messages"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    message_ts: Mapped[str] = mapped_column(String(40), primary_key=True)
    reactors: Mapped[list[str]] = mapped_column(JSONDocument)  # who has the pin reaction on it now
    removed_at: Mapped[datetime | None]


class SlackEventSeen(Base):
    """Slack event ids already handled, so Slack's retries change nothing twice."""

    __tablename__ = "slack_events_seen"

    event_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    received_at: Mapped[datetime]


class Timer(Base):
    """Something due at a time: an update reminder, an escalation, an auto-resolve.

    The database, not memory, holds what is due, so a restart loses and repeats
    nothing; a due timer is claimed and fired in one transaction (SKIP LOCKED on
    PostgreSQL), so with several replicas each fires once.
    """

    __tablename__ = "timers"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(20), default="pending")  # pending|fired|cancelled
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    created_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_timers_due", "state", "due_at"),
        Index("ix_timers_incident", "incident_id", "kind", "state"),
    )


class Postmortem(Base):
    """An incident's postmortem as a tracked piece of work: who writes it, by when, how far
    it is. Created when an incident whose severity asks for one resolves."""

    __tablename__ = "postmortems"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))  # draft|in_review|published
    owner: Mapped[str] = mapped_column(String(40))  # Slack user id
    due_at: Mapped[datetime | None]
    # While the incident is reopened the clock stops; what was left of it, in seconds.
    suspended_remaining_seconds: Mapped[float | None] = mapped_column(Float)
    escalated_at: Mapped[datetime | None]  # the overdue escalation, sent once
    published_at: Mapped[datetime | None]
    published_by: Mapped[str | None] = mapped_column(String(40))
    document: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)  # where it was published (canvas or file)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class FollowUp(Base):
    """An action item from an incident, numbered per incident from 1, perhaps mirrored by
    an issue in a tracker (GitHub, Jira)."""

    __tablename__ = "followups"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(40))
    due_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20))  # open|done|dropped
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(20))  # command|shortcut|web
    message_link: Mapped[str | None] = mapped_column(Text)  # the Slack message it was made from
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(60))
    close_reason: Mapped[str | None] = mapped_column(Text)
    tracker: Mapped[str | None] = mapped_column(String(20))  # github|jira, once an issue exists there
    tracker_key: Mapped[str | None] = mapped_column(String(200))  # owner/name#12 or KEY-12
    tracker_url: Mapped[str | None] = mapped_column(Text)
    tracker_checked_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("incident_id", "number", name="uq_followups_number"),
        Index("ix_followups_status_due", "status", "due_at"),
    )


class PostmortemVersion(Base):
    """A saved version of a postmortem's Markdown, numbered per incident from 1; never changed."""

    __tablename__ = "postmortem_versions"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(60))  # Slack user id
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("incident_id", "number", name="uq_postmortem_versions_number"),)


class WebSession(Base):
    """A signed-in person in the web workspace. The key is the SHA-256 of the session token
    the browser holds; the token itself is never stored."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(40))  # Slack user id
    team_id: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]

    __table_args__ = (Index("ix_web_sessions_expires", "expires_at"),)


class WebSignin(Base):
    """A sign-in with Slack under way: the OpenID Connect state and nonce, used once."""

    __tablename__ = "web_signins"

    state: Mapped[str] = mapped_column(String(100), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(100))
    return_to: Mapped[str] = mapped_column(String(500))  # the local path to land on afterwards
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_web_signins_created", "created_at"),)


def table_of(model: type[Base]) -> Table:
    """The model's table, typed as the Table it is (``__table__`` is typed as any FromClause)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table
