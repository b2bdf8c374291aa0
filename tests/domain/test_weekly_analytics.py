"""The insights' numbers: MTTA and MTTR by severity week by week, postmortems on time and
follow-ups closed, computed from plain values."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.domain.analytics import (
    FollowUpFacts,
    PostmortemFacts,
    followups_summary,
    noisiest_alerts,
    postmortems_on_time,
    seconds_to_ack,
    seconds_to_resolve,
    week_of,
    weekly_means,
    weeks_between,
)

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # a Wednesday
MINUTE = timedelta(minutes=1)


def test_weeks_run_monday_to_monday_in_utc_and_cover_the_whole_period() -> None:
    assert week_of(datetime(2026, 11, 30, 0, 0, tzinfo=UTC)) == date(2026, 11, 30)  # a Monday
    assert week_of(datetime(2026, 11, 29, 23, 59, tzinfo=UTC)) == date(2026, 11, 23)  # the Sunday before
    weeks = weeks_between(NOW - timedelta(days=33), NOW)  # from a Thursday
    assert weeks[0] == date(2026, 10, 26) and weeks[-1] == date(2026, 11, 30)
    assert len(weeks) == 6 and all(w.weekday() == 0 for w in weeks)
    assert len(weeks_between(NOW - timedelta(days=365), NOW)) == 53


def test_mean_times_by_severity_and_the_week_each_incident_opened_in() -> None:
    weeks = weeks_between(NOW - timedelta(days=30), NOW)
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    timings = [
        ("sev1", "default/a", monday, monday + 2 * MINUTE, monday + 60 * MINUTE),
        ("sev1", "default/a", monday + timedelta(days=2), monday + timedelta(days=2) + 6 * MINUTE, None),
        ("sev2", "default/b", monday + timedelta(days=7), None, monday + timedelta(days=7, hours=3)),
        ("sev2", "default/b", NOW - timedelta(days=60), NOW - timedelta(days=60) + MINUTE, None),  # before the period
    ]
    mtta = weekly_means(timings, seconds_to_ack, weeks)
    mttr = weekly_means(timings, seconds_to_resolve, weeks)

    at = weeks.index(date(2026, 11, 23))
    assert list(mtta.means) == ["sev1"]  # nothing of sev2 was acknowledged in the period
    assert mtta.means["sev1"][at] == 4 * 60 and mtta.counts["sev1"][at] == 2
    assert mtta.means["sev1"][at + 1] is None and mtta.counts["sev1"][at + 1] == 0
    assert list(mttr.means) == ["sev1", "sev2"]
    assert mttr.means["sev1"][at] == 3600 and mttr.counts["sev1"][at] == 1  # the open one is not counted
    assert mttr.means["sev2"][at + 1] == 3 * 3600 and sum(mttr.counts["sev2"]) == 1


def test_noisiest_alerts_keep_their_order_and_say_how_many_incidents_they_opened() -> None:
    found = noisiest_alerts([("DiskFull", 40), ("HighErrorRate", 12)], {"HighErrorRate": 3})
    assert [(a.name, a.fired, a.opened) for a in found] == [("DiskFull", 40, 0), ("HighErrorRate", 12, 3)]


def test_postmortems_on_time_count_only_those_with_a_due_date() -> None:
    day = timedelta(days=1)
    summary = postmortems_on_time([
        PostmortemFacts("published", NOW - 5 * day, NOW - 6 * day),  # on time
        PostmortemFacts("published", NOW - 5 * day, NOW - 5 * day),  # at the due time: on time
        PostmortemFacts("published", NOW - 5 * day, NOW - 4 * day),  # late
        PostmortemFacts("draft", NOW - day, None),  # overdue
        PostmortemFacts("in_review", NOW + day, None),  # not yet due
        PostmortemFacts("published", None, NOW - day),  # no due date: not in the share
    ], NOW)
    assert (summary.on_time, summary.late, summary.overdue, summary.waiting, summary.without_due) == (2, 1, 1, 1, 1)
    assert summary.with_due == 5 and summary.share == 0.4
    assert postmortems_on_time([], NOW).share is None


def test_follow_ups_by_status_and_closed_by_their_due_date() -> None:
    day = timedelta(days=1)
    added = [FollowUpFacts("done", None), FollowUpFacts("dropped", NOW + day), FollowUpFacts("open", NOW - day),
             FollowUpFacts("open", NOW + day), FollowUpFacts("open", None)]
    closed = [FollowUpFacts("done", NOW - 2 * day, NOW - 3 * day),  # on time
              FollowUpFacts("dropped", NOW - 2 * day, NOW - day),  # late
              FollowUpFacts("done", None, NOW - day)]  # no due date
    summary = followups_summary(added, closed, NOW)
    assert (summary.done, summary.dropped, summary.open, summary.overdue) == (1, 1, 3, 1)
    assert summary.added == 5 and summary.closed == 3
    assert (summary.closed_on_time, summary.closed_with_due, summary.on_time_share) == (1, 2, 0.5)
