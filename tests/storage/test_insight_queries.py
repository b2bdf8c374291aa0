"""What the insights read over a period: incident timings, the noisiest alert names, postmortems
and follow-ups, each bounded by since and until, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from storage import followups, postmortems, queries
from storage.database import Database
from storage.rows import ClosedFollowUp
from tests.support.workspace import T0, alert, insert_incident

WEEK = timedelta(days=7)


async def test_incident_timings_are_read_for_one_period(db: Database) -> None:
    def seed(session: Session) -> None:
        for week, severity in enumerate(["sev1", "sev2", "sev3"]):
            opened = T0 + week * WEEK
            insert_incident(session, severity=severity, opened_at=opened, acknowledged_at=opened + timedelta(minutes=3),
                            resolved_at=opened + timedelta(hours=1), status="resolved")

    await db.write(seed)

    middle = await db.read(lambda s: queries.incident_timings(s, T0 + WEEK, until=T0 + 2 * WEEK))
    everything = await db.read(queries.incident_timings, None)

    assert middle == [("sev2", "default/all", T0 + WEEK, T0 + WEEK + timedelta(minutes=3), T0 + WEEK + timedelta(hours=1))]
    assert [t[0] for t in sorted(everything, key=lambda t: t[2])] == ["sev1", "sev2", "sev3"]


async def test_the_noisiest_alert_names_are_counted_in_the_period_ties_by_name(db: Database) -> None:
    def seed(session: Session) -> None:
        incident = insert_incident(session)
        fired = [("DiskFull", 0), ("DiskFull", 1), ("NodeDown", 2), ("CPUHigh", 3), ("CPUHigh", 4), ("DiskFull", 9)]
        for n, (name, day) in enumerate(fired):
            alert(session, incident, f"fp{n}", name=name, starts_at=T0 + timedelta(days=day))

    await db.write(seed)

    first_week = await db.read(lambda s: queries.alert_counts_by_name(s, T0, until=T0 + WEEK))
    top_one = await db.read(lambda s: queries.alert_counts_by_name(s, T0, 1))

    assert first_week == [("CPUHigh", 2), ("DiskFull", 2), ("NodeDown", 1)]
    assert top_one == [("DiskFull", 3)]
    assert await db.read(queries.alert_counts_by_name, T0 + 10 * WEEK) == []


async def test_postmortems_and_follow_ups_of_a_period_and_the_follow_ups_closed_in_it(db: Database) -> None:
    def seed(session: Session) -> None:
        first, second = insert_incident(session, "first"), insert_incident(session, "second")
        postmortems.start(session, first, owner="U1", due_at=T0 + timedelta(days=5), now=T0)
        postmortems.start(session, second, owner="U1", due_at=None, now=T0 + WEEK)
        for n, created in enumerate([T0, T0 + timedelta(days=1), T0 + WEEK]):
            followups.add(session, first, text=f"task {n}", owner="U2", due_at=T0 + timedelta(days=3), created_by="U1",
                          source="web", message_link=None, now=created)
        followups.close(session, 2, status="dropped", by="U1", reason="moot", now=T0 + timedelta(days=2))
        followups.close(session, 1, status="done", by="U2", reason=None, now=T0 + WEEK + timedelta(days=1))

    await db.write(seed)

    started, added = await db.read(lambda s: queries.aftercare_since(s, T0, until=T0 + WEEK))
    closed_first_week = await db.read(lambda s: queries.followups_closed(s, T0, until=T0 + WEEK))
    closed_since = await db.read(queries.followups_closed, T0)

    assert started == [("draft", T0 + timedelta(days=5), None)]
    assert sorted(added, key=str) == [("done", T0 + timedelta(days=3)), ("dropped", T0 + timedelta(days=3))]
    assert closed_first_week == [ClosedFollowUp(incident_id=1, number=2, status="dropped",
                                                created_at=T0 + timedelta(days=1), due_at=T0 + timedelta(days=3),
                                                closed_at=T0 + timedelta(days=2))]
    assert [(c.number, c.status) for c in closed_since] == [(2, "dropped"), (1, "done")]


async def test_the_incidents_an_alert_name_opened_are_those_its_alerts_were_there_for(db: Database) -> None:
    def seed(session: Session) -> None:
        first = insert_incident(session, "first", opened_at=T0)
        second = insert_incident(session, "second", opened_at=T0 + WEEK)
        old = insert_incident(session, "old", opened_at=T0 - 2 * WEEK)
        alert(session, first, "fp1", name="DiskFull", starts_at=T0)
        alert(session, first, "fp2", name="DiskFull", starts_at=T0)  # the same incident once
        alert(session, first, "fp3", name="NodeDown", starts_at=T0 + timedelta(minutes=5))  # joined it later
        alert(session, second, "fp4", name="DiskFull", starts_at=T0 + WEEK)
        alert(session, second, "fp5", name="NodeDown", starts_at=T0 + WEEK - timedelta(minutes=1))
        alert(session, old, "fp6", name="NodeDown", starts_at=T0 - 2 * WEEK)  # opened before the period

    await db.write(seed)

    opened = await db.read(queries.incidents_opened_by_alert, T0, ["DiskFull", "NodeDown", "CPUHigh"])
    first_week = await db.read(lambda s: queries.incidents_opened_by_alert(s, T0, ["DiskFull", "NodeDown"],
                                                                           until=T0 + WEEK))

    assert opened == {"DiskFull": 2, "NodeDown": 1}
    assert first_week == {"DiskFull": 1}
    assert await db.read(queries.incidents_opened_by_alert, T0, []) == {}
