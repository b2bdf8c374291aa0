"""``GET /ui/incidents/<id>/stream``: an open incident page gets new timeline entries as
server-sent events, on both databases; a dropped connection resumes where it stopped; the
stream ends when the page goes away or the server shuts down."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from bot.web import timeline_stream
from bot.web.keys import WORKSPACE
from storage import alerting, workspace_queries
from storage.models import IncidentEvent
from tests.slack_emulator import SlackEmulator
from tests.support.payloads import captured
from tests.support.slack import eventually
from tests.support.web_incident import NOW, EventReader, WebBot, web_bot


@pytest.fixture
async def bot(database_url: str, slack: SlackEmulator) -> AsyncIterator[WebBot]:
    async with web_bot(database_url, slack) as running:
        yield running


@pytest.fixture
async def incident(bot: WebBot) -> tuple[int, str]:
    """An open incident and its commander."""
    incident_id = await bot.open_incident(captured("1-firing"))
    row = await bot.db.read(alerting.get_incident, incident_id)
    assert row is not None and row.commander
    return incident_id, row.commander


async def test_a_new_note_reaches_the_open_page_and_a_reconnection_resumes_without_duplicates(
        bot: WebBot, incident: tuple[int, str]) -> None:
    incident_id, _ = incident
    async with bot.browser("UDAVE") as browser:
        async with browser.stream("GET", f"/ui/incidents/{incident_id}/stream") as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert "script-src 'self'" in stream.headers["content-security-policy"]
            started = time.monotonic()
            await bot.note(incident_id, "first: <@UBOB> restarted the pods", "UDAVE")
            [first] = await EventReader(stream).next(1, timeout=5)
            assert time.monotonic() - started < 5
        assert first.kind == "entry" and first.id is not None
        assert f'<li id="e{first.id}"' in first.data and "note: first: @bob restarted the pods" in first.data
        assert f'action="/ui/incidents/{incident_id}/timeline/{first.id}/mark"' in first.data
        assert 'name="csrf_token"' in first.data

        await bot.note(incident_id, "second", "UDAVE")  # while the page is disconnected
        await bot.note(incident_id, "third", "UDAVE")
        async with browser.stream("GET", f"/ui/incidents/{incident_id}/stream",
                                  headers={"Last-Event-ID": first.id}) as resumed:
            events = EventReader(resumed)
            again = await events.next(2, timeout=5)
            await bot.note(incident_id, "fourth", "UDAVE")
            [live] = await events.next(1, timeout=5)
    texts = [re.search(r'<span class="what">(.*?)</span>', e.data).group(1) for e in [*again, live]]  # type: ignore[union-attr]
    assert texts == ["note: second", "note: third", "note: fourth"]
    ids = [int(e.id or 0) for e in [first, *again, live]]
    assert ids == sorted(set(ids))  # each once, in order


async def test_after_query_resumes_too_and_a_bad_resume_point_or_incident_is_refused(
        bot: WebBot, incident: tuple[int, str]) -> None:
    incident_id, _ = incident
    latest = await bot.db.read(workspace_queries.latest_event_id, incident_id)
    await bot.note(incident_id, "after the page was rendered", "UDAVE")
    async with bot.browser("UDAVE") as browser:
        async with browser.stream("GET", f"/ui/incidents/{incident_id}/stream?after={latest}") as stream:
            [entry] = await EventReader(stream).next(1, timeout=5)
        bad = await browser.get(f"/ui/incidents/{incident_id}/stream", headers={"Last-Event-ID": "x1"})
        missing = await browser.get("/ui/incidents/999/stream")
    assert "note: after the page was rendered" in entry.data
    assert bad.status_code == 400 and "Last-Event-ID" in bad.text
    assert missing.status_code == 404 and "There is no incident #999." in missing.text


async def test_an_entry_committed_after_a_newer_one_is_still_sent_once(bot: WebBot, incident: tuple[int, str],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Ids are taken at INSERT, not at commit: an event with a lower id can become visible
    after a higher one was sent (on PostgreSQL, a writer without the incident's lock)."""
    incident_id, _ = incident
    latest = await bot.db.read(workspace_queries.latest_event_id, incident_id)
    assert latest is not None
    monkeypatch.setattr(timeline_stream, "HEARTBEAT_SECONDS", 0.3)
    async with bot.browser("UDAVE") as browser:
        async with browser.stream("GET", f"/ui/incidents/{incident_id}/stream") as stream:
            events = EventReader(stream)
            await bot.db.write(_event_with_id, incident_id, latest + 1000, "committed first")
            [newer] = await events.next(1, timeout=5)
            await bot.db.write(_event_with_id, incident_id, latest + 500, "committed late")
            [late] = await events.next(1, timeout=5)
            heartbeat = [await events.line() for _ in range(3)]
            await bot.note(incident_id, "next", "UDAVE")
            [after] = await events.next(1, timeout=5)
    assert (newer.id, "committed first" in newer.data) == (str(latest + 1000), True)
    assert f'<li id="e{latest + 500}"' in late.data and "committed late" in late.data
    assert late.id == str(latest + 1000)  # the browser resumes after the newest it has: never goes back
    assert ": still here" in heartbeat
    assert "note: next" in after.data and int(after.id or 0) > latest + 1000


def _event_with_id(session: Session, incident_id: int, event_id: int, words: str) -> None:
    session.execute(insert(IncidentEvent).values(id=event_id, incident_id=incident_id, occurred_at=NOW,
                                                 recorded_at=NOW, kind="note.added", actor="UBOB",
                                                 data={"text": words}))
    if session.bind is not None and session.bind.dialect.name == "postgresql":  # later inserts get higher ids
        session.execute(text("SELECT setval(pg_get_serial_sequence('incident_events', 'id'), "
                             "greatest(:id, (SELECT max(id) FROM incident_events)))"), {"id": event_id})


async def test_a_key_moment_marked_elsewhere_arrives_as_an_entry_and_updates_the_marked_one(
        bot: WebBot, incident: tuple[int, str]) -> None:
    incident_id, commander = incident
    opened = await bot.db.read(workspace_queries.timeline_window, incident_id, before_id=None, limit=100)
    target = next(e for e in opened.events if e.kind == "incident.opened")
    async with bot.browser("UDAVE") as browser:
        async with browser.stream("GET", f"/ui/incidents/{incident_id}/stream") as stream:
            await bot.app[WORKSPACE].editor.mark(incident_id, target.id, "detected", actor=commander, source="slack")
            [mark, update] = await EventReader(stream).next(2, timeout=5, kinds=("entry", "update"))
    assert (mark.kind, update.kind, update.id) == ("entry", "update", None)
    assert "Marked the moment the incident was detected" in mark.data and "(from Slack)" in mark.data
    assert f'href="#e{target.id}"' in mark.data
    assert f'<li id="e{target.id}"' in update.data and '<span class="mark">Detected</span>' in update.data


async def test_the_stream_ends_when_the_page_goes_away(bot: WebBot, incident: tuple[int, str]) -> None:
    incident_id, _ = incident
    wakeups = bot.app[WORKSPACE].wakeups
    async with bot.browser("UDAVE") as browser:
        async with browser.stream("GET", f"/ui/incidents/{incident_id}/stream") as stream:
            assert (await EventReader(stream).line()).startswith("retry:")
            assert len(wakeups._waiting) == 1

    async def ended() -> bool:
        return not wakeups._waiting
    await eventually(ended, timeout=5, what="the stream's handler to end")


async def test_shutdown_does_not_wait_for_open_streams(bot: WebBot, incident: tuple[int, str]) -> None:
    incident_id, _ = incident
    async with bot.browser("UDAVE") as browser:
        async with browser.stream("GET", f"/ui/incidents/{incident_id}/stream") as stream:
            events = EventReader(stream)
            assert (await events.line()).startswith("retry:")
            started = time.monotonic()
            await asyncio.wait_for(bot.runner.cleanup(), timeout=10)
            assert time.monotonic() - started < 5
            rest = await asyncio.wait_for(events.rest(), timeout=5)  # the server ended the stream
    assert all(not line.startswith("data:") for line in rest)
