"""Follow-ups as JSON, on /metrics and in ``incident-bot followups``; their storage on
SQLite and PostgreSQL (numbering, closing once, moving the due time, what counts as overdue)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.clock import ManualClock
from storage import followups
from storage.database import Database
from tests.conftest import REPO
from tests.support.bot import API_TOKEN, WEBHOOK_TOKEN, bot_settings, running_bot
from tests.support.cli import cli_env, run_cli
from tests.support.payloads import body, captured, group

HOOK = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}
API = {"Authorization": f"Bearer {API_TOKEN}"}
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@dataclass
class Served:
    url: str
    db: Database
    clock: ManualClock


async def add(db: Database, incident_id: int, text: str, *, owner: str | None = None,
              due_at: datetime | None = None) -> followups.FollowUpRow:
    async with db.transaction() as session:
        return await session.run_sync(lambda s: followups.add(
            s, incident_id, text=text, owner=owner, due_at=due_at, created_by="UALICE", source="command",
            message_link=None, now=NOW))


async def serve_two_incidents(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for payload in (captured("1-firing"), body(group("Second", alerts=1))):
            assert (await client.post(f"{url}/alertmanager", content=payload, headers=HOOK)).status_code == 200


@pytest.fixture
async def served(database_url: str, db: Database) -> AsyncIterator[Served]:
    clock = ManualClock(NOW)
    async with running_bot(bot_settings(database_url, REPO / "playbooks"), clock=clock) as url:
        await serve_two_incidents(url)
        yield Served(url, db, clock)


async def test_storage_numbers_per_incident_closes_once_and_counts_overdue_from_the_due_time(served: Served) -> None:
    db = served.db
    first = await add(db, 1, "Alert on pool saturation", owner="UBOB", due_at=NOW)
    second = await add(db, 1, "Write the runbook", due_at=NOW + DAY)
    other = await add(db, 2, "Tune the threshold")
    assert (first.number, second.number, other.number) == (1, 2, 1)
    assert await db.read(followups.count_overdue, NOW) == 1  # due at this very moment: overdue
    assert await db.read(followups.count_overdue, NOW - timedelta(seconds=1)) == 0

    async with db.transaction() as session:
        assert await session.run_sync(lambda s: followups.set_due(s, second.id, due_at=NOW - DAY, now=NOW))
        assert await session.run_sync(lambda s: followups.close(s, first.id, status="done", by="UBOB", reason=None,
                                                                now=NOW))
        assert not await session.run_sync(lambda s: followups.close(s, first.id, status="dropped", by="UBOB",
                                                                    reason=None, now=NOW))
        assert not await session.run_sync(lambda s: followups.set_due(s, first.id, due_at=None, now=NOW))
    overdue = await db.read(lambda s: followups.listed(s, overdue_at=NOW))
    assert [(f.incident_id, f.number) for f in overdue] == [(1, 2)]
    assert await db.read(followups.counts_by_status, 1) == {"done": 1, "open": 1}


async def test_json_lists_an_incidents_followups_and_all_of_one_status(served: Served) -> None:
    await add(served.db, 1, "Alert on pool saturation", owner="UBOB", due_at=NOW - DAY)
    await add(served.db, 2, "Tune the threshold")
    async with httpx.AsyncClient(base_url=served.url, headers=API) as client:
        of_one = await client.get("/incidents/1/followups")
        opened = await client.get("/followups", params={"status": "open"})
        overdue = await client.get("/followups", params={"overdue": "true"})
        done = await client.get("/followups", params={"status": "done"})
    assert of_one.status_code == 200
    [item] = of_one.json()["followups"]
    assert item == {"incident_id": 1, "number": 1, "text": "Alert on pool saturation", "owner": "UBOB",
                    "due_at": "2026-11-22T12:00:00+00:00", "status": "open", "created_by": "UALICE",
                    "created_at": "2026-11-23T12:00:00+00:00", "source": "command", "message_link": None,
                    "closed_at": None, "closed_by": None, "close_reason": None, "tracker": None}
    assert [(f["incident_id"], f["number"]) for f in opened.json()["followups"]] == [(1, 1), (2, 1)]
    assert [(f["incident_id"], f["number"]) for f in overdue.json()["followups"]] == [(1, 1)]
    assert done.json() == {"followups": []}


async def test_json_errors_name_what_is_wrong(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url, headers=API) as client:
        unknown = await client.get("/incidents/99/followups")
        not_a_number = await client.get("/incidents/abc/followups")
        bad_status = await client.get("/followups", params={"status": "closed"})
    async with httpx.AsyncClient(base_url=served.url) as anonymous:
        refused = await anonymous.get("/followups")
    assert (unknown.status_code, unknown.json()) == (404, {"error": "no incident 99"})
    assert not_a_number.status_code == 404
    assert (bad_status.status_code, bad_status.json()) == (400, {"error": "status must be one of open, done, dropped"})
    assert refused.status_code == 401 and "error" in refused.json()


async def test_metrics_count_overdue_followups_at_scrape_time(served: Served) -> None:
    await add(served.db, 1, "Alert on pool saturation", due_at=NOW + timedelta(hours=1))
    await add(served.db, 2, "No due date")

    async def overdue() -> float:
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"{served.url}/metrics")).text
        return next(float(line.split()[-1]) for line in text.splitlines()
                    if line.startswith("incident_bot_followups_overdue "))

    assert await overdue() == 0
    served.clock.advance(timedelta(hours=1))
    assert await overdue() == 1


async def test_cli_prints_open_or_overdue_followups_as_a_table(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    url = env["DATABASE_URL"]
    now = datetime.now(UTC)  # the CLI reads the real clock: due times relative to it
    async with running_bot(bot_settings(url, REPO / "playbooks")) as served_url:
        await serve_two_incidents(served_url)
        db = Database(url)
        try:
            async with db.transaction() as session:
                await session.run_sync(lambda s: followups.add(
                    s, 1, text="Alert on pool saturation", owner="UBOB", due_at=now - DAY, created_by="UALICE",
                    source="command", message_link=None, now=now))
                await session.run_sync(lambda s: followups.add(
                    s, 2, text="Write the runbook", owner=None, due_at=None, created_by="UALICE",
                    source="shortcut", message_link=None, now=now))
        finally:
            await db.dispose()

    everything = run_cli(["followups"], env, tmp_path)
    overdue = run_cli(["followups", "--overdue"], env, tmp_path)
    assert everything.returncode == 0, everything.stderr
    lines = everything.stdout.splitlines()
    assert lines[0].split() == ["INCIDENT", "#", "STATUS", "OWNER", "DUE", "TEXT", "TRACKER"]
    assert lines[1].split()[:4] == ["#1", "1", "overdue", "UBOB"] and "Alert on pool saturation" in lines[1]
    assert lines[2].split()[:5] == ["#2", "1", "open", "-", "-"] and "Write the runbook" in lines[2]
    assert lines[-1] == "2 open follow-ups"
    assert overdue.returncode == 0
    assert [line.split()[0] for line in overdue.stdout.splitlines()[1:-1]] == ["#1"]
    assert overdue.stdout.splitlines()[-1] == "1 overdue follow-up"
