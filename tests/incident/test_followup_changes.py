"""The one way to create, close and reschedule a follow-up, as the web workspace and a
tracker sync will call it: inside the incident's lock, written with the incident change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.incident.change import IncidentChange
from bot.incident.followups import change_due, close_followup, create_followup
from storage import followups
from storage import incidents as store
from storage.database import Database
from storage.models import OutboxAction, Timer
from storage.rows import FollowUpRow
from tests.conftest import REPO
from tests.support import rows
from tests.support.bot import WEBHOOK_TOKEN, bot_settings, running_bot
from tests.support.payloads import captured

HOOK = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
async def incident_db(database_url: str, db: Database) -> AsyncIterator[Database]:
    async with running_bot(bot_settings(database_url, REPO / "playbooks")) as url:
        async with httpx.AsyncClient() as client:
            assert (await client.post(f"{url}/alertmanager", content=captured("1-firing"),
                                      headers=HOOK)).status_code == 200
    yield db


async def in_change(db: Database, actor: str, work: object) -> object:
    def run(session: Session) -> object:
        incident = store.lock_incident(session, 1)
        assert incident is not None and callable(work)
        change = IncidentChange(incident, actor, NOW)
        result = work(session, change)
        change.flush(session)
        return result
    return await db.write(run)


async def followup_timers(db: Database) -> list[tuple[int, datetime, str]]:
    async with db.reading() as session:
        found = (await session.execute(select(Timer).where(Timer.kind == "followup_due").order_by(Timer.id))).scalars()
        return [(int(t.payload["number"]), t.due_at, t.state) for t in found]


async def test_rescheduling_moves_the_one_reminder_and_a_tracker_can_close_it(incident_db: Database) -> None:
    db = incident_db
    due = NOW + timedelta(days=3)
    created = await in_change(db, "UALICE", lambda s, c: create_followup(
        s, c, text="Add a canary stage", owner="UBOB", due_at=due, source="web"))
    assert isinstance(created, FollowUpRow) and created.number == 1
    later = NOW + timedelta(days=7)
    assert await in_change(db, "UALICE", lambda s, c: change_due(s, c, created, later))
    assert [(n, at.astimezone(UTC), state) for n, at, state in await followup_timers(db)] == [
        (1, due, "cancelled"), (1, later, "pending")]
    assert await in_change(db, "tracker", lambda s, c: close_followup(s, c, created, "done"))
    assert not await in_change(db, "tracker", lambda s, c: close_followup(s, c, created, "done"))
    assert [state for _, _, state in await followup_timers(db)] == ["cancelled", "cancelled"]

    stored = await db.read(followups.by_number, 1, 1)
    assert stored is not None and (stored.status, stored.closed_by, stored.source) == ("done", "tracker", "web")
    changed = [e for e in await rows.events(db, 1) if e.kind.startswith("followup.")]
    assert [(e.kind, e.actor) for e in changed] == [
        ("followup.added", "UALICE"), ("followup.due_changed", "UALICE"), ("followup.done", "tracker")]
    assert changed[1].data["to"] == later.isoformat()
    async with db.reading() as session:
        posts = (await session.execute(select(OutboxAction.payload).where(
            OutboxAction.kind == "message.post"))).scalars()
        texts = [str(p["text"]) for p in posts]
    assert ":calendar: <@UALICE> set follow-up 1 due 2026-11-30 12:00 UTC: Add a canary stage" in texts
    assert ":white_check_mark: tracker marked follow-up 1 done: Add a canary stage" in texts
