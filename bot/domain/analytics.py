"""Incident analytics: time to acknowledge and to resolve, by severity and route, week by
week; the noisiest alerts; postmortems on time and follow-ups closed. Pure: the same numbers
for ``incident-bot report``, /metrics and the workspace's insights page."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

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
    closed_at: datetime | None = None


def postmortem_outcome(p: PostmortemFacts, now: datetime) -> str:
    """``on_time`` (published by its due time), ``late``, ``overdue`` (not published, past due),
    ``waiting`` (not published, not yet due), or for one without a due time ``published``
    or ``no_due``."""
    published = p.status == "published" and p.published_at is not None
    if p.due_at is None:
        return "published" if published else "no_due"
    if published:
        assert p.published_at is not None
        return "on_time" if p.published_at <= p.due_at else "late"
    return "overdue" if p.due_at < now else "waiting"


def aftercare_lines(postmortems: Sequence[PostmortemFacts], followups: Sequence[FollowUpFacts],
                    now: datetime) -> list[str]:
    """Postmortems on time and follow-ups closed, for the report."""
    outcomes = [postmortem_outcome(p, now) for p in postmortems]
    on_time = outcomes.count("on_time") + outcomes.count("published")  # no due time: on time
    late, overdue = outcomes.count("late"), outcomes.count("overdue")
    waiting = outcomes.count("waiting") + outcomes.count("no_due")
    published = on_time + late
    share = f" ({on_time / published:.0%} on time)" if published else ""
    lines = ["", f"Postmortems started: {len(postmortems)}",
             f"  published on time {on_time}, late {late}{share}; overdue {overdue}; not yet due {waiting}"]
    summary = followups_summary(followups, (), now)
    ratio = f" ({summary.done / summary.added:.0%} done)" if summary.added else ""
    lines += [f"Follow-ups added: {summary.added}",
              f"  done {summary.done}, dropped {summary.dropped} ({summary.done + summary.dropped} closed){ratio}; "
              f"open {summary.open}, of which overdue {summary.overdue}"]
    return lines


# ---------------------------------------------------------------------------------------
# The workspace's insights: the same facts, as numbers to draw and tabulate
# ---------------------------------------------------------------------------------------

def week_of(moment: datetime) -> date:
    """The Monday (UTC) of the week ``moment`` falls in."""
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def weeks_between(since: datetime, until: datetime) -> tuple[date, ...]:
    """Every week from the one ``since`` falls in to the one ``until`` falls in, oldest first."""
    first, last = week_of(since), week_of(until)
    return tuple(first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1))


@dataclass(frozen=True, slots=True)
class WeeklyMeans:
    """A mean duration per week (the week an incident opened in), one series per severity
    that has anything to measure; None for a week with nothing to measure."""

    weeks: tuple[date, ...]  # Mondays, oldest first
    means: dict[str, tuple[float | None, ...]]  # severity -> mean seconds per week
    counts: dict[str, tuple[int, ...]]  # severity -> incidents measured per week


def weekly_means(timings: Iterable[Timing], measure: Callable[[Timing], float | None],
                 weeks: Sequence[date]) -> WeeklyMeans:
    """MTTA (``measure=seconds_to_ack``) or MTTR (``seconds_to_resolve``) by severity and week.
    An incident that opened outside ``weeks``, or has no such time yet, is not counted."""
    index = {week: i for i, week in enumerate(weeks)}
    sums: dict[str, list[float]] = {}
    counts: dict[str, list[int]] = {}
    for timing in timings:
        value, at = measure(timing), index.get(week_of(timing[2]))
        if value is None or at is None:
            continue
        severity = timing[0]
        sums.setdefault(severity, [0.0] * len(weeks))[at] += max(value, 0.0)
        counts.setdefault(severity, [0] * len(weeks))[at] += 1
    means = {severity: tuple(total / n if n else None for total, n in zip(sums[severity], counts[severity],
                                                                            strict=True))
             for severity in sorted(sums)}
    return WeeklyMeans(tuple(weeks), means, {severity: tuple(counts[severity]) for severity in sorted(counts)})


@dataclass(frozen=True, slots=True)
class NoisyAlert:
    name: str
    fired: int  # alerts of this name that fired
    opened: int  # incidents these alerts opened


def noisiest_alerts(counts: Sequence[tuple[str, int]], opened: Mapping[str, int]) -> list[NoisyAlert]:
    """``counts`` (name, alerts fired), noisiest first, with the incidents each name opened."""
    return [NoisyAlert(name, fired, opened.get(name, 0)) for name, fired in counts]


@dataclass(frozen=True, slots=True)
class PostmortemsOnTime:
    """Of the postmortems with a due time: how many were published by it, and the rest."""

    on_time: int
    late: int
    overdue: int
    waiting: int
    without_due: int  # postmortems that need no due time (not in the share)

    @property
    def with_due(self) -> int:
        return self.on_time + self.late + self.overdue + self.waiting

    @property
    def share(self) -> float | None:
        return self.on_time / self.with_due if self.with_due else None


def postmortems_on_time(postmortems: Iterable[PostmortemFacts], now: datetime) -> PostmortemsOnTime:
    outcomes = [postmortem_outcome(p, now) for p in postmortems]
    return PostmortemsOnTime(outcomes.count("on_time"), outcomes.count("late"), outcomes.count("overdue"),
                             outcomes.count("waiting"), outcomes.count("published") + outcomes.count("no_due"))


@dataclass(frozen=True, slots=True)
class FollowUpsSummary:
    """The follow-ups added in a period by status, and those closed in it against their due time."""

    done: int
    dropped: int
    open: int
    overdue: int  # open and past due
    closed: int  # closed (done or dropped) in the period
    closed_with_due: int
    closed_on_time: int  # closed by their due time

    @property
    def added(self) -> int:
        return self.done + self.dropped + self.open

    @property
    def on_time_share(self) -> float | None:
        return self.closed_on_time / self.closed_with_due if self.closed_with_due else None


def followups_summary(added: Sequence[FollowUpFacts], closed: Sequence[FollowUpFacts],
                      now: datetime) -> FollowUpsSummary:
    """``added``: the follow-ups added in the period; ``closed``: those closed in it."""
    status = [f.status for f in added]
    overdue = sum(1 for f in added if f.status == "open" and f.due_at is not None and f.due_at < now)
    timed = [f for f in closed if f.due_at is not None and f.closed_at is not None]
    on_time = sum(1 for f in timed if f.closed_at is not None and f.due_at is not None and f.closed_at <= f.due_at)
    return FollowUpsSummary(status.count("done"), status.count("dropped"), status.count("open"), overdue,
                            len(closed), len(timed), on_time)
