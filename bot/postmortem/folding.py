"""Bursts: events of a folded kind (alerts firing or resolving, alert groups joining a
storm incident, people joining the channel) at most ``FOLD_WINDOW`` apart, shown as one
timeline row that counts them and names a sample.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.postmortem import text as tx
from bot.postmortem.model import JSONValue
from bot.postmortem.timeline_rows import Row

__all__ = ["FOLDED_KINDS", "FOLD_PEOPLE", "FOLD_SAMPLE", "FOLD_WINDOW", "Burst", "finish", "finish_all"]

# Bursts of different kinds do not end each other; any other event shown on the timeline
# ends them all, so what people did stays visible between the alerts.
FOLDED_KINDS = frozenset({"alert.fired", "alert.resolved", "storm.group_joined", "participant.joined"})
FOLD_WINDOW = timedelta(seconds=60)
FOLD_SAMPLE = 5  # alerts named in a folded row
FOLD_PEOPLE = 10  # people named in a folded "joined the channel" row
FOLD_NAMES = 5  # alert names counted in a folded row's breakdown


@dataclass(slots=True)
class Burst:
    """A burst being collected; its row (already on the timeline) gets its text when the
    burst ends."""

    row: Row
    last: datetime
    sample: list[Mapping[str, JSONValue]]  # the first FOLD_SAMPLE alert events' data
    names: dict[JSONValue, int] = field(default_factory=dict)  # alert name -> alert events
    people: list[str] = field(default_factory=list)  # participant.joined: the first FOLD_PEOPLE
    alerts: int = 0  # storm.group_joined: alerts the groups brought
    count: int = 0


def finish(kind: str, burst: Burst) -> None:
    burst.row.count = burst.count
    burst.row.text = _burst_text(kind, burst)


def finish_all(bursts: dict[str, Burst]) -> None:
    for kind, burst in bursts.items():
        finish(kind, burst)
    bursts.clear()


def _alert(data: Mapping[str, JSONValue]) -> str:
    name = str(data.get("alertname") or "?")
    detail = data.get("detail")
    return tx.code(f"{name} {detail}" if detail else name)


def _burst_text(kind: str, burst: Burst) -> str:
    row = burst.row
    n = row.count
    span = burst.last - row.at
    within = f" within {tx.human_duration(span)}" if span >= timedelta(seconds=1) else ""
    if kind == "participant.joined":
        people = [tx.user(p) for p in burst.people]
        more = n - len(people)
        if more:
            who = f"{', '.join(people)} and {more} more"
        elif len(people) > 1:
            who = f"{', '.join(people[:-1])} and {people[-1]}"
        else:
            who = people[0]
        return f"{who} joined the channel"
    if kind == "storm.group_joined":
        groups = "An alert group" if n == 1 else f"{n} alert groups"
        alerts = f" with {burst.alerts} alert{'s' if burst.alerts != 1 else ''}" if burst.alerts else ""
        return f"{groups} joined the storm incident{alerts}{within}"
    verb = "fired" if kind == "alert.fired" else "resolved"
    if n == 1:
        return f"Alert {verb}: {_alert(burst.sample[0])}"
    listed = ", ".join(_alert(d) for d in burst.sample)
    more = n - len(burst.sample)
    if not more:
        return f"{n} alerts {verb}{within}: {listed}"
    counts: dict[str, int] = {}
    for name, count in burst.names.items():
        counts[str(name)] = counts.get(str(name), 0) + count
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    breakdown = ", ".join(f"{tx.code(name)} ×{count}" for name, count in ranked[:FOLD_NAMES])
    if len(ranked) > FOLD_NAMES:
        breakdown += f", {len(ranked) - FOLD_NAMES} more names"
    return f"{n} alerts {verb}{within} ({breakdown}): {listed} and {more} more"
