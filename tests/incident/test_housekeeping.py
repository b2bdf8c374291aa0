"""Raw deliveries are kept for their retention, then purged; resolved incidents after theirs; web sessions
when they expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.clock import ManualClock
from bot.domain.notification import parse_webhook
from bot.incident.housekeeping import purge_closed_incidents_older_than, purge_old_deliveries, purge_web_sessions
from bot.incident.ingest import Ingestor
from bot.playbook import load_playbooks
from storage import web_sessions
from storage.alerting import update_incident
from storage.database import Database
from tests.conftest import REPO
from tests.support import rows
from tests.support.payloads import body, group


async def test_deliveries_older_than_the_retention_are_purged_and_newer_ones_kept(db: Database) -> None:
    clock = ManualClock(datetime(2026, 10, 1, tzinfo=UTC))
    playbooks = load_playbooks(REPO / "playbooks")
    ingestor = Ingestor(db, lambda: playbooks, clock)
    for day in range(10):
        payload = body(group(alertname=f"Day{day}"))
        await ingestor.ingest(payload, parse_webhook(payload))
        clock.advance(timedelta(days=1))

    purged = await purge_old_deliveries(db, clock, retention=timedelta(days=4, hours=12))

    assert purged == 6
    assert len(await rows.deliveries(db)) == 4
    assert len(await rows.incidents(db)) == 10  # the incidents and their timelines stay


async def test_resolved_incidents_past_retention_are_purged_with_their_data_and_open_ones_never(db: Database) -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    playbooks = load_playbooks(REPO / "playbooks")
    ingestor = Ingestor(db, lambda: playbooks, clock)
    for name in ("OldResolved", "OldOpen", "RecentResolved"):
        payload = body(group(alertname=name))
        await ingestor.ingest(payload, parse_webhook(payload))
    resolved_at = {1: clock() + timedelta(days=1), 3: clock() + timedelta(days=300)}
    for incident_id, at in resolved_at.items():
        await db.write(update_incident, incident_id, status="resolved", resolved_at=at)
    clock.advance(timedelta(days=400))

    purged = await purge_closed_incidents_older_than(db, clock, retention=timedelta(days=365))

    assert purged == 1
    assert [i.title for i in await rows.incidents(db)] == ["OldOpen in checkout", "RecentResolved in checkout"]
    assert await rows.events(db, 1) == []
    assert len(await rows.events(db, 2)) > 0  # an open incident's timeline is never touched
    assert {a.incident_id for a in await rows.alerts(db)} == {2, 3}


async def test_expired_web_sessions_and_sign_ins_older_than_a_day_are_purged(db: Database) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    start = clock()
    for n, hours in enumerate([1, 30]):
        await db.write(web_sessions.create_session, id_hash=f"{n}" * 64, user_id="U1", team_id="T1", name="Ada",
                       email=None, csrf_token="c" * 64, now=start, expires_at=start + timedelta(hours=hours))
    await db.write(web_sessions.create_signin, state="old", nonce="n", return_to="/ui/", now=start)
    await db.write(web_sessions.consume_signin, "old", now=start, max_age=timedelta(minutes=10))
    await db.write(web_sessions.create_signin, state="fresh", nonce="n", return_to="/ui/", now=start + timedelta(hours=2))
    clock.advance(timedelta(days=1, hours=1))

    assert await purge_web_sessions(db, clock) == 2  # the 1-hour session and the day-old sign-in

    assert await db.read(web_sessions.get_session, "1" * 64, now=clock()) is not None
    assert await db.write(web_sessions.consume_signin, "fresh", now=clock(), max_age=timedelta(days=2)) is not None
    assert await purge_web_sessions(db, clock) == 0
