"""The incident page's forms for key moments, corrections and hiding, on both databases:
each change is a ``timeline.*`` event with the person as actor and source ``web``; the
playbook's rule refuses exactly as in Slack; a form without the CSRF token changes nothing."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from bot.incident.timeline_editor import TimelineEditError
from bot.web.keys import WORKSPACE
from storage import alerting, workspace_queries
from storage.rows import EventRow
from tests.slack_emulator import SlackEmulator
from tests.support.payloads import captured
from tests.support.web_incident import WebBot, web_bot

RESPONDER = "UDAVE"  # one of the route's responders, who may edit the timeline


@pytest.fixture
async def bot(database_url: str, slack: SlackEmulator) -> AsyncIterator[WebBot]:
    async with web_bot(database_url, slack) as running:
        yield running


@pytest.fixture
async def incident(bot: WebBot) -> tuple[int, EventRow, EventRow, str]:
    """An open incident, its opening and its first alert event, and its commander."""
    incident_id = await bot.open_incident(captured("1-firing"))
    row = await bot.db.read(alerting.get_incident, incident_id)
    assert row is not None and row.commander
    window = await bot.db.read(workspace_queries.timeline_window, incident_id, before_id=None, limit=100)
    opened = next(e for e in window.events if e.kind == "incident.opened")
    fired = next(e for e in window.events if e.kind == "alert.fired")
    await bot.run(incident_id, "timeline", row.commander)  # acknowledged: no escalation changes the commander
    bot.clock.advance(timedelta(minutes=10))
    return incident_id, opened, fired, row.commander


async def edits(bot: WebBot, incident_id: int) -> list[EventRow]:
    window = await bot.db.read(workspace_queries.timeline_window, incident_id, before_id=None, limit=1000)
    return [e for e in window.events if e.kind.startswith("timeline.")]


async def post(browser: httpx.AsyncClient, path: str, form: dict[str, str]) -> tuple[httpx.Response, str]:
    """POST the form as the page does, then follow the redirect: (the answer, the notice shown)."""
    answer = await browser.post(path, data={"csrf_token": browser.csrf, **form})  # type: ignore[attr-defined]
    assert answer.status_code == 303, answer.text
    page = await browser.get(answer.headers["Location"])
    notice = re.search(r'<p class="notice notice-(\w+)" role="status">(.*?)</p>', page.text, re.S)
    assert notice is not None
    return answer, f"{notice.group(1)}: {notice.group(2)}"


async def test_marking_correcting_and_hiding_from_the_page_records_the_viewer_from_the_web(
        bot: WebBot, incident: tuple[int, EventRow, EventRow, str]) -> None:
    incident_id, opened, fired, _ = incident
    base = f"/ui/incidents/{incident_id}/timeline"
    async with bot.browser(RESPONDER) as browser:
        answer, notice = await post(browser, f"{base}/{fired.id}/mark", {"moment": "detected", "reason": "paged"})
        assert answer.headers["Location"] == f"/ui/incidents/{incident_id}#e{fired.id}"
        assert notice == "done: Marked as the moment the incident was detected."
        _, notice = await post(browser, f"{base}/{opened.id}/correct", {
            "text": "Checkout errors paged the on-call", "time": "2026-11-22T23:05", "reason": "typo"})
        assert notice == "done: Corrected the event&#39;s text and time."
        _, notice = await post(browser, f"{base}/{fired.id}/correct", {
            "text": "alert fired: HighErrorRate 10.0.0.12:8080", "time": "2026-11-22T22:57:48"})
        assert notice == "refused: Nothing to correct: give a new text or a new time."
        _, notice = await post(browser, f"{base}/{opened.id}/correct", {"text": "x", "time": "tomorrow"})
        assert notice.startswith("refused: Give the time as YYYY-MM-DD HH:MM")
        _, notice = await post(browser, f"{base}/{opened.id}/correct", {"text": "x", "time": "2026-11-23T01:00"})
        assert notice == "refused: The corrected time is in the future."
        _, notice = await post(browser, f"{base}/{fired.id}/hide", {"reason": "duplicate"})
        assert notice == "done: Hidden from the timeline."
        _, notice = await post(browser, f"{base}/{fired.id}/hide", {})
        assert notice == "refused: This event is already hidden."
        page = (await browser.get(f"/ui/incidents/{incident_id}")).text
        _, notice = await post(browser, f"{base}/{fired.id}/unmark", {"moment": "detected", "before": str(fired.id + 1)})
        assert notice == "done: No longer marked as the moment the incident was detected."
        _, notice = await post(browser, f"{base}/{fired.id}/show", {})
        assert notice == "done: Shown on the timeline again."

    recorded = await edits(bot, incident_id)
    assert [(e.kind, e.actor, e.data["source"], e.data["event_id"]) for e in recorded] == [
        ("timeline.marked", RESPONDER, "web", fired.id), ("timeline.corrected", RESPONDER, "web", opened.id),
        ("timeline.hidden", RESPONDER, "web", fired.id), ("timeline.unmarked", RESPONDER, "web", fired.id),
        ("timeline.shown", RESPONDER, "web", fired.id)]
    assert recorded[0].data["reason"] == "paged" and recorded[2].data["reason"] == "duplicate"
    assert recorded[1].data["text"] == "Checkout errors paged the on-call"
    assert recorded[1].data["occurred_at"] == "2026-11-22T23:05:00+00:00"
    # the page as it was after the mark, the correction and the hiding
    fired_entry = re.search(rf'<li id="e{fired.id}".*?</li>', page, re.S)
    opened_entry = re.search(rf'<li id="e{opened.id}".*?</li>', page, re.S)
    assert fired_entry is not None and opened_entry is not None
    assert "hidden-entry" in fired_entry.group(0) and '<span class="mark">Detected</span>' in fired_entry.group(0)
    assert "hidden as noise: duplicate" in fired_entry.group(0) and "Unmark detected" in fired_entry.group(0)
    assert "Show again" in fired_entry.group(0)
    assert "Checkout errors paged the on-call" in opened_entry.group(0) and "(corrected)" in opened_entry.group(0)
    assert '<time datetime="2026-11-22T23:05:00Z">' in opened_entry.group(0)
    assert "was at " in opened_entry.group(0) and ": opened" in opened_entry.group(0)
    assert "Marked the moment the incident was detected because: paged (from the web)" in page
    assert "— dave" in page
    assert f'<dt>Detected</dt><dd><a href="/ui/incidents/{incident_id}#e{fired.id}">' in page  # the key moments


async def test_a_person_the_playbook_does_not_allow_is_refused_in_slack_s_words_and_nothing_is_written(
        bot: WebBot, incident: tuple[int, EventRow, EventRow, str]) -> None:
    incident_id, opened, _, commander = incident
    outsider = "UERIN"  # neither the commander, a responder, a role holder, nor in the rotation
    bot.slack.add_user(outsider, "erin")
    with pytest.raises(TimelineEditError) as in_slack:
        await bot.app[WORKSPACE].editor.mark(incident_id, opened.id, "detected", actor=outsider, source="slack")
    assert str(in_slack.value) == (f"Only the commander (<@{commander}>) or a responder can edit the timeline "
                                   "for this incident.")
    names = {"UALICE": "alice", "UBOB": "bob", "UCAROL": "carol"}
    async with bot.browser(outsider) as browser:
        for action, form in [("mark", {"moment": "detected"}), ("correct", {"text": "x", "time": "2026-11-22T22:59"}),
                             ("hide", {})]:
            _, notice = await post(browser, f"/ui/incidents/{incident_id}/timeline/{opened.id}/{action}", form)
            assert notice == (f"refused: Only the commander (@{names[commander]}) or a responder can edit the "
                              "timeline for this incident.")
    assert await edits(bot, incident_id) == []


async def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
        bot: WebBot, incident: tuple[int, EventRow, EventRow, str]) -> None:
    incident_id, opened, _, _ = incident
    path = f"/ui/incidents/{incident_id}/timeline/{opened.id}/mark"
    async with bot.browser(RESPONDER) as browser:
        missing = await browser.post(path, data={"moment": "detected"})
        wrong = await browser.post(path, data={"moment": "detected", "csrf_token": "not-the-token"})
    async with httpx.AsyncClient(base_url=bot.url) as anonymous:
        signed_out = await anonymous.post(path, data={"moment": "detected"})
    assert missing.status_code == 403 and "CSRF token is missing or wrong" in missing.text
    assert wrong.status_code == 403
    assert signed_out.status_code == 401
    assert await edits(bot, incident_id) == []


async def test_forms_name_what_is_wrong_with_the_address(
        bot: WebBot, incident: tuple[int, EventRow, EventRow, str]) -> None:
    incident_id, opened, _, _ = incident
    async with bot.browser(RESPONDER) as browser:
        bad = await browser.post(f"/ui/incidents/{incident_id}/timeline/abc/mark",
                                 data={"csrf_token": browser.csrf, "moment": "detected"})  # type: ignore[attr-defined]
        _, gone = await post(browser, f"/ui/incidents/{incident_id}/timeline/{opened.id + 10_000}/mark",
                             {"moment": "detected"})
        unknown = await browser.post(f"/ui/incidents/4711/timeline/{opened.id}/hide",
                                     data={"csrf_token": browser.csrf})  # type: ignore[attr-defined]
        _, moment = await post(browser, f"/ui/incidents/{incident_id}/timeline/{opened.id}/mark", {"moment": "fixed"})
    assert bad.status_code == 400 and "timeline entry&#39;s id must be a number" in bad.text
    assert gone == f"refused: Event {opened.id + 10_000} is not on the timeline of incident #{incident_id}."
    assert unknown.status_code == 404 and "There is no incident #4711." in unknown.text
    assert moment.startswith("refused: `fixed` is not a key moment")
    assert await edits(bot, incident_id) == []
