"""The values a postmortem template receives (see :mod:`bot.postmortem.context`): plain,
immutable, every text already Markdown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

__all__ = ["AlertGroupView", "IncidentView", "Line", "Measure", "PostmortemContext", "RoleView", "SeverityView"]


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
