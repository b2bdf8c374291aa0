"""The values a postmortem template receives (see :mod:`bot.postmortem.context`): plain,
immutable, every text already Markdown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

__all__ = ["AlertGroupView", "FollowUpView", "IncidentView", "Line", "Measure", "PostmortemContext", "PostmortemView",
           "RoleView", "SeverityView"]


@dataclass(frozen=True, slots=True)
class Line:
    """A timeline row as shown: ``time`` in UTC, ``offset`` like ``T+4m 12s``."""

    time: str
    offset: str
    text: str
    quote: str = ""


@dataclass(frozen=True, slots=True)
class Measure:
    """One of the key durations (time to detect, acknowledge, mitigate, resolve)."""

    name: str
    value: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class RoleView:
    role: str
    user: str


@dataclass(frozen=True, slots=True)
class SeverityView:
    initial: str
    final: str
    changes: list[Line]


@dataclass(frozen=True, slots=True)
class IncidentView:
    id: int
    title: str
    severity: str
    status: str
    source: str
    playbook: str
    route: str
    commander: str
    channel: str
    opened: str
    resolved: str


@dataclass(frozen=True, slots=True)
class AlertGroupView:
    name: str
    count: int
    firing: int
    summary: str
    links: str
    alerts: list[str]
    more: int
    more_text: str


@dataclass(frozen=True, slots=True)
class PostmortemView:
    owner: str  # a mention
    due: str  # full UTC time, "" without one, or why the clock stands still
    status: str  # draft, in review, published
    published: str  # full UTC time or ""


@dataclass(frozen=True, slots=True)
class FollowUpView:
    number: int
    text: str  # fit for a Markdown table cell
    owner: str  # a mention or ""
    due: str  # YYYY-MM-DD or ""
    status: str  # open, done, dropped
    link: str  # a Markdown link to the tracker issue, or ""


class PostmortemContext(TypedDict):
    incident: IncidentView
    summary: str
    durations: list[Measure]
    resolution_history: list[str]
    severity: SeverityView
    commanders: list[Line]
    commander: str
    roles: list[RoleView]
    participants: list[str]
    timeline: list[Line]
    timeline_origin: str
    times_with_date: bool
    alert_groups: list[AlertGroupView]
    alert_count: int
    event_count: int
    postmortem: PostmortemView | None
    followups: list[FollowUpView]
