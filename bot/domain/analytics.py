"""Incident analytics: time to acknowledge and to resolve, by severity and route. Pure."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

# Buckets for MTTA/MTTR histograms, in seconds: 1 min up to 1 day.
DURATION_BUCKETS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0, 86400.0)

Timing = tuple[str, str, datetime, datetime | None, datetime | None]


@dataclass(frozen=True)
class Histogram:
    buckets: list[tuple[float, int]]  # (upper bound, cumulative count), +Inf last
    count: int
    total: float


def histogram(values: Iterable[float], bounds: Sequence[float] = DURATION_BUCKETS) -> Histogram:
    ordered = sorted(values)
    buckets, index = [], 0
    for bound in bounds:
        while index < len(ordered) and ordered[index] <= bound:
            index += 1
        buckets.append((bound, index))
    buckets.append((math.inf, len(ordered)))
    return Histogram(buckets, len(ordered), float(sum(ordered)))


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile, q in (0, 100]."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def seconds_to_ack(timing: Timing) -> float | None:
    _, _, opened, acked, _ = timing
    return (acked - opened).total_seconds() if acked is not None else None


def seconds_to_resolve(timing: Timing) -> float | None:
    _, _, opened, _, resolved = timing
    return (resolved - opened).total_seconds() if resolved is not None else None


def by_severity(timings: Iterable[Timing], measure: object) -> dict[str, list[float]]:
    assert callable(measure)
    grouped: dict[str, list[float]] = {}
    for timing in timings:
        value = measure(timing)
        if value is not None:
            grouped.setdefault(timing[0], []).append(max(value, 0.0))
    return grouped


def human(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours >= 24:
        return f"{hours // 24}d {hours % 24}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def report_text(timings: Sequence[Timing], noisiest: Sequence[tuple[str, int]], since_label: str) -> str:
    lines = [f"Incidents opened in the last {since_label}: {len(timings)}", ""]
    counts: dict[str, int] = {}
    routes: dict[str, int] = {}
    for severity, route, *_ in timings:
        counts[severity] = counts.get(severity, 0) + 1
        routes[route] = routes.get(route, 0) + 1
    lines.append("By severity:")
    lines += [f"  {sev:<12} {n:>5}" for sev, n in sorted(counts.items())] or ["  (none)"]
    lines.append("By route:")
    lines += [f"  {route:<30} {n:>5}" for route, n in sorted(routes.items(), key=lambda r: (-r[1], r[0]))] or ["  (none)"]
    lines += ["", f"{'severity':<12} {'MTTA p50':>10} {'p90':>10} {'MTTR p50':>10} {'p90':>10}"]
    acks, resolves = by_severity(timings, seconds_to_ack), by_severity(timings, seconds_to_resolve)
    for severity in sorted(counts):
        a, r = acks.get(severity, []), resolves.get(severity, [])
        lines.append(f"{severity:<12} {human(percentile(a, 50)):>10} {human(percentile(a, 90)):>10} "
                     f"{human(percentile(r, 50)):>10} {human(percentile(r, 90)):>10}")
    lines += ["", "Noisiest alerts:"]
    lines += [f"  {name:<40} {n:>6}" for name, n in noisiest] or ["  (none)"]
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class PostmortemFacts:
    status: str  # draft|in_review|published
    due_at: datetime | None
    published_at: datetime | None


@dataclass(frozen=True, slots=True)
class FollowUpFacts:
    status: str  # open|done|dropped
    due_at: datetime | None


def aftercare_lines(postmortems: Sequence[PostmortemFacts], followups: Sequence[FollowUpFacts],
                    now: datetime) -> list[str]:
    """Postmortems on time and follow-ups closed, for the report."""
    on_time = late = overdue = waiting = 0
    for p in postmortems:
        if p.status == "published" and p.published_at is not None:
            if p.due_at is None or p.published_at <= p.due_at:
                on_time += 1
            else:
                late += 1
        elif p.due_at is not None and p.due_at < now:
            overdue += 1
        else:
            waiting += 1
    published = on_time + late
    share = f" ({on_time / published:.0%} on time)" if published else ""
    lines = ["", f"Postmortems started: {len(postmortems)}",
             f"  published on time {on_time}, late {late}{share}; overdue {overdue}; not yet due {waiting}"]
    counts = {status: sum(1 for f in followups if f.status == status) for status in ("open", "done", "dropped")}
    late_open = sum(1 for f in followups if f.status == "open" and f.due_at is not None and f.due_at < now)
    closed = counts["done"] + counts["dropped"]
    ratio = f" ({counts['done'] / len(followups):.0%} done)" if followups else ""
    lines += [f"Follow-ups added: {len(followups)}",
              f"  done {counts['done']}, dropped {counts['dropped']} ({closed} closed){ratio}; "
              f"open {counts['open']}, of which overdue {late_open}"]
    return lines
