"""``GET /ui/insights``: over the last 30, 90 or 365 days, the time to acknowledge and to
resolve by severity, week by week (charts with their tables), the noisiest alerts and how many
incidents they opened, postmortems published on time and follow-ups closed.

The numbers are ``incident-bot report``'s: the same reads (storage/queries.py) and the same
pure computation (bot/domain/analytics.py), drawn by bot/web/charts.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from bot.domain.analytics import (
    FollowUpFacts,
    FollowUpsSummary,
    NoisyAlert,
    PostmortemFacts,
    PostmortemsOnTime,
    Timing,
    WeeklyMeans,
    followups_summary,
    noisiest_alerts,
    postmortems_on_time,
    seconds_to_ack,
    seconds_to_resolve,
    weekly_means,
    weeks_between,
)
from bot.web.charts import Chart, Line, weekly_chart
from bot.web.keys import WORKSPACE
from bot.web.render import page
from bot.web.sessions import viewer_of
from storage import queries

PERIODS = (30, 90, 365)
DEFAULT_PERIOD = 90
NOISIEST = 10


def period_of(request: web.Request) -> int:
    raw = request.query.get("days", str(DEFAULT_PERIOD)).strip()
    if raw not in {str(days) for days in PERIODS}:
        raise web.HTTPBadRequest(text=f"days (the period of the insights) must be 30, 90 or 365, not {raw[:20]!r}")
    return int(raw)


@dataclass(frozen=True, slots=True)
class Insights:
    days: int
    incidents: int
    by_severity: dict[str, int]
    mtta: Chart
    mttr: Chart
    noisiest: list[NoisyAlert]
    postmortems: PostmortemsOnTime
    followups: FollowUpsSummary


def _chart(chart_id: str, title: str, means: WeeklyMeans) -> Chart:
    return weekly_chart(chart_id, title, means.weeks, [Line(severity, values, means.counts[severity])
                                                       for severity, values in means.means.items()])


def insights_of(days: int, now: datetime, timings: list[Timing], noisiest: list[NoisyAlert],
                postmortems: list[PostmortemFacts], added: list[FollowUpFacts],
                closed: list[FollowUpFacts]) -> Insights:
    weeks = weeks_between(now - timedelta(days=days), now)
    by_severity: dict[str, int] = {}
    for timing in timings:
        by_severity[timing[0]] = by_severity.get(timing[0], 0) + 1
    return Insights(
        days, len(timings), dict(sorted(by_severity.items())),
        _chart("mtta", "Mean time to acknowledge", weekly_means(timings, seconds_to_ack, weeks)),
        _chart("mttr", "Mean time to resolve", weekly_means(timings, seconds_to_resolve, weeks)),
        noisiest, postmortems_on_time(postmortems, now), followups_summary(added, closed, now))


async def insights(request: web.Request) -> web.Response:
    workspace = request.app[WORKSPACE]
    viewer = viewer_of(request)
    days = period_of(request)
    now = workspace.clock()
    since = now - timedelta(days=days)
    async with workspace.db.reading() as session:
        timings = await session.run_sync(queries.incident_timings, since, until=now)
        counts = await session.run_sync(queries.alert_counts_by_name, since, NOISIEST, until=now)
        opened = await session.run_sync(queries.incidents_opened_by_alert, since, [name for name, _ in counts],
                                        until=now)
        started, added = await session.run_sync(queries.aftercare_since, since, until=now)
        closed = await session.run_sync(queries.followups_closed, since, until=now)
    found = insights_of(
        days, now, timings, noisiest_alerts(counts, opened), [PostmortemFacts(*row) for row in started],
        [FollowUpFacts(*row) for row in added], [FollowUpFacts(c.status, c.due_at, c.closed_at) for c in closed])
    return page(request, workspace, "insights.html", viewer, {"insights": found, "periods": PERIODS})
