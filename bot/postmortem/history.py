"""What the sections beside the timeline need from the events: the severity changes, who
was in command, the initial severity, the first acknowledgement and mitigation, and
every resolve and reopen in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from bot.postmortem.model import EventRecord
from bot.postmortem.timeline_rows import Row, resolved_automatically

__all__ = ["Acknowledgement", "History", "Resolution"]

_COMMAND_KINDS = frozenset({"commander.assigned", "commander.acknowledged", "commander.changed",
                            "commander.escalated", "escalation.exhausted", "role.assigned"})


class Acknowledgement(NamedTuple):
    at: datetime
    by: str  # a Slack user id, or "" when unknown


@dataclass(frozen=True, slots=True)
class Resolution:
    """A resolve or a reopen, in order."""

    at: datetime
    resolved: bool  # False for a reopen
    actor: str
    automatic: bool = False


@dataclass(slots=True)
class History:
    severity_rows: list[Row] = field(default_factory=list)
    command_rows: list[Row] = field(default_factory=list)  # commander and role changes
    initial_severity: str | None = None
    first_ack: Acknowledgement | None = None
    first_mitigation: datetime | None = None
    first_identified: datetime | None = None  # the status first set to identified
    resolutions: list[Resolution] = field(default_factory=list)

    @property
    def reopens(self) -> int:
        return sum(1 for r in self.resolutions if not r.resolved)

    def note(self, event: EventRecord, row: Row) -> None:
        """Take what matters from a shown event (in timeline order) and its row."""
        kind, t, actor = event.kind, event.occurred_at, event.actor
        data = event.data or {}
        if kind in _COMMAND_KINDS:
            self.command_rows.append(row)
            if kind == "commander.acknowledged":
                self._acknowledged(t, str(data.get("commander") or actor))
            elif kind == "commander.changed":
                new = data.get("to")
                if new and new == actor:
                    self._acknowledged(t, actor)
        elif kind == "incident.opened":
            severity = data.get("severity")
            if self.initial_severity is None and severity:
                self.initial_severity = str(severity)
        elif kind == "severity.changed":
            self.severity_rows.append(row)
            if self.initial_severity is None and data.get("from"):
                self.initial_severity = str(data["from"])
        elif kind == "status.changed":
            old, new = data.get("from"), data.get("to")
            if new == "monitoring":
                self._mitigated(t)
            if new == "identified" and self.first_identified is None:
                self.first_identified = t
            if old == "resolved" and new != "resolved":
                self.resolutions.append(Resolution(t, False, actor))
        elif kind == "incident.resolved":
            self._mitigated(t)
            self.resolutions.append(Resolution(t, True, actor, resolved_automatically(event)))
        elif kind == "incident.reopened":
            self.resolutions.append(Resolution(t, False, actor))

    def _acknowledged(self, at: datetime, by: str) -> None:
        if self.first_ack is None:
            self.first_ack = Acknowledgement(at, by)

    def _mitigated(self, at: datetime) -> None:
        if self.first_mitigation is None:
            self.first_mitigation = at
