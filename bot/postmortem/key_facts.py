"""The key facts at the top of the draft: when the incident was detected, acknowledged,
mitigated and resolved, the durations between them, the open/resolved intervals of a
reopened incident, and the summary paragraph.

Every duration is a plain difference of aware UTC instants, so daylight-saving changes
do not affect it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.postmortem import text as tx
from bot.postmortem.history import Acknowledgement, History
from bot.postmortem.model import IncidentRecord
from bot.postmortem.views import IncidentView, Measure

__all__ = ["KeyTimes", "MarkedTime", "key_times", "measures", "resolution_history", "summary"]

TimeFormat = Callable[[datetime], str]  # how the draft shows an instant


@dataclass(frozen=True, slots=True)
class MarkedTime:
    """When the event marking a key moment happened (as corrected), and who marked it."""

    at: datetime
    by: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class KeyTimes:
    """The incident's milestones, in UTC."""

    opened: datetime
    first_alert: datetime | None  # the earliest alert start, if any alert is known
    origin: datetime  # what the timeline's T+ counts from: the first alert or the opening
    acknowledged: Acknowledgement | None
    mitigated: datetime | None
    resolved: datetime | None  # when it was last resolved, if it is resolved now
    identified: datetime | None = None  # the status first set to identified
    marks: Mapping[str, MarkedTime] = field(default_factory=dict)  # key moment -> its marked event's time

    @property
    def detected_by_alert(self) -> bool:
        return self.first_alert is not None and self.first_alert <= self.opened


def key_times(incident: IncidentRecord, opened: datetime, history: History,
              first_alert: datetime | None, marks: Mapping[str, MarkedTime] | None = None) -> KeyTimes:
    """The milestones from the stored incident, falling back on its timeline's history;
    ``opened`` is ``incident.opened_at`` in UTC; ``marks`` the key moments people marked."""
    origin = opened if first_alert is None else min(first_alert, opened)
    ack = history.first_ack
    if incident.acknowledged_at is not None:
        acked = tx.to_utc(incident.acknowledged_at, "incident acknowledged_at")
        if ack is None or acked < ack.at:
            ack = Acknowledgement(acked, incident.commander or "")
    mitigated = (tx.to_utc(incident.mitigated_at, "incident mitigated_at") if incident.mitigated_at is not None
                 else history.first_mitigation)
    return KeyTimes(opened, first_alert, origin, ack, mitigated, _final_resolution(incident, history),
                    history.first_identified, dict(marks or {}))


def _final_resolution(incident: IncidentRecord, history: History) -> datetime | None:
    if incident.status != "resolved":
        return None
    if incident.resolved_at is not None:
        return tx.to_utc(incident.resolved_at, "incident resolved_at")
    last = history.resolutions[-1] if history.resolutions else None
    return last.at if last is not None and last.resolved else None


def resolution_history(opened: datetime, history: History, at: TimeFormat) -> tuple[list[str], timedelta | None]:
    """Open and resolved intervals, listed only when the incident was reopened; and the
    total time open when it ended resolved."""
    items: list[str] = []
    since, is_open, total, reopened = opened, True, timedelta(0), False
    for r in history.resolutions:
        who = "automatically" if r.automatic else f"by {tx.user(r.actor)}"
        if r.resolved and is_open:
            total += r.at - since
            items.append(f"Open {at(since)} → {at(r.at)} ({tx.human_duration(r.at - since)}), resolved {who}")
            since, is_open = r.at, False
        elif not r.resolved and not is_open:
            reopened = True
            why = " (an alert fired again)" if r.actor == "alertmanager" else ""
            items.append(f"Resolved {at(since)} → {at(r.at)} ({tx.human_duration(r.at - since)}), "
                         f"reopened {who}{why}")
            since, is_open = r.at, True
    if not reopened:
        return [], None
    if is_open:
        items.append(f"Open since {at(since)}, not resolved")
        return items, None
    return items, total


def measures(times: KeyTimes, reopens: int, open_total: timedelta | None, at: TimeFormat) -> list[Measure]:
    """Time to detect, identify (when known), acknowledge, mitigate and resolve, each counted
    from the opening but detection (from the timeline's origin); a marked key moment is
    used in place of what the stored incident says."""
    opened, first_alert, ack = times.opened, times.first_alert, times.acknowledged
    marks = times.marks

    def marked(moment: str, start: datetime, name: str) -> Measure | None:
        mark = marks.get(moment)
        if mark is None:
            return None
        reason = tx.one_line(mark.reason)
        detail = f"marked {at(mark.at)} by {tx.user(mark.by)}" + (f": {reason}" if reason else "")
        return Measure(name, tx.human_duration(max(mark.at - start, timedelta(0))), detail)

    out = []
    since = "the first alert's start" if times.detected_by_alert else "the incident's opening"
    if (detect := marked("detected", times.origin, "Time to detect")) is not None:
        out.append(Measure(detect.name, detect.value, f"{detect.detail}; counted from {since} ({at(times.origin)})"))
    elif first_alert is None:
        out.append(Measure("Time to detect", "n/a", "no alert is attached to this incident"))
    elif first_alert <= opened:
        out.append(Measure("Time to detect", tx.human_duration(opened - first_alert),
                           f"first alert started {at(first_alert)}, incident opened {at(opened)}"))
    else:
        out.append(Measure("Time to detect", "n/a",
                           f"declared {tx.human_duration(first_alert - opened)} before the first alert started"))
    if (identify := marked("identified", opened, "Time to identify")) is not None:
        out.append(identify)
    elif times.identified is not None:
        out.append(Measure("Time to identify", tx.human_duration(max(times.identified - opened, timedelta(0))),
                           f"status set to identified {at(times.identified)}"))
    if ack is None:
        out.append(Measure("Time to acknowledge", "not acknowledged"))
    else:
        by = f" by {tx.user(ack.by)}" if ack.by else ""
        out.append(Measure("Time to acknowledge", tx.human_duration(ack.at - opened),
                           f"acknowledged {at(ack.at)}{by}"))
    if (mitigate := marked("mitigated", opened, "Time to mitigate")) is not None:
        out.append(mitigate)
    elif times.mitigated is None:
        out.append(Measure("Time to mitigate", "not mitigated"))
    else:
        out.append(Measure("Time to mitigate", tx.human_duration(times.mitigated - opened),
                           f"mitigated {at(times.mitigated)}"))
    resolved = times.resolved
    if (resolve := marked("resolved", opened, "Time to resolve")) is not None:
        out.append(resolve)
    elif resolved is None:
        out.append(Measure("Time to resolve", "not resolved"))
    else:
        detail = f"resolved {at(resolved)}"
        if reopens:
            again = "once" if reopens == 1 else f"{reopens} times"
            detail = f"finally resolved {at(resolved)}, after being reopened {again}"
            if open_total is not None:
                detail += f"; open for {tx.human_duration(open_total)} in total"
        out.append(Measure("Time to resolve", tx.human_duration(resolved - opened), detail))
    return out


def summary(incident: IncidentRecord, view: IncidentView, times: KeyTimes, reopens: int, alerts: int,
            events: int) -> str:
    """One paragraph: severity, how it was opened, how long it lasted, commander, counts."""
    if incident.source == "human":
        how = f"declared by {tx.user(incident.declared_by)}" if incident.declared_by else "declared by hand"
    elif incident.source == "storm":
        how = "opened by the storm guard"
    else:
        how = "opened by Alertmanager"
    route = tx.code(f"{incident.playbook}/{incident.route}")
    text = f"**{view.severity}** incident #{incident.id}, {how} at {view.opened} (route {route})"
    if times.resolved is not None:
        again = "" if not reopens else (" after being reopened once" if reopens == 1
                                        else f" after being reopened {reopens} times")
        text += f", resolved {tx.human_duration(times.resolved - times.opened)} later{again}."
    else:
        text += f", still open ({view.status})."
    if view.commander:
        text += f" Commander: {view.commander}."
    text += (f" {alerts} alert{'s' if alerts != 1 else ''}, "
             f"{events} recorded event{'s' if events != 1 else ''}.")
    if view.channel:
        text += f" Channel: #{view.channel}."
    return text
