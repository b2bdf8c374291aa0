"""``GET /ui/incidents/<id>``: what a signed-in person sees of an incident, on both databases:
its facts, people by name, alerts with their links, follow-ups, postmortem and timeline;
nothing an alert or a note holds runs as markup; the timeline a window at a time."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from bot.incident.change import IncidentChange
from bot.incident.transitions import add_note
from storage import alerting
from storage import incidents as store
from tests.slack_emulator import SlackEmulator
from tests.support.payloads import captured
from tests.support.web_incident import WebBot, hostile_group, web_bot, with_postmortems


@pytest.fixture
async def bot(database_url: str, slack: SlackEmulator, tmp_path: Path) -> AsyncIterator[WebBot]:
    async with web_bot(database_url, slack, with_postmortems(tmp_path)) as running:
        yield running


def entry_ids(body: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li id="e(\d+)" data-event-id', body)]


async def test_the_page_shows_facts_people_alerts_followups_postmortem_and_timeline(bot: WebBot) -> None:
    incident_id = await bot.open_incident(captured("1-firing"))
    row = await bot.db.read(alerting.get_incident, incident_id)
    assert row is not None and row.commander and row.channel_id
    commander = row.commander
    await bot.run(incident_id, "role scribe <@UCAROL>", commander)
    await bot.note(incident_id, "<@UBOB> is rolling back the deploy", commander)
    assert "Added follow-up 1" in await bot.run(incident_id, "followup Add a retry budget <@UBOB> due 2026-11-23", commander)
    await bot.run(incident_id, "resolve rolled back", commander)
    bot.clock.advance(timedelta(days=2))  # the follow-up is overdue now

    async with bot.browser("UDAVE") as browser:
        response = await browser.get(f"/ui/incidents/{incident_id}")
    assert response.status_code == 200, response.text
    body = response.text
    assert "HighErrorRate in checkout" in body and "SEV1" in body and "Resolved" in body
    assert f'href="https://slack.com/app_redirect?channel={row.channel_id}">#{row.channel_name}</a>' in body
    names = {"UALICE": "alice", "UBOB": "bob", "UCAROL": "carol"}
    assert f"<dt>Commander</dt><dd>{names[commander]}" in body
    assert "<dt>scribe</dt><dd>carol</dd>" in body
    assert "note: @bob is rolling back the deploy" in body and "&lt;@UBOB&gt;" not in body
    # the alerts: labels, annotations, status, start, and the links Slack's channel got
    assert 'alertname="HighErrorRate"' in body and 'instance="10.0.0.12:8080"' in body
    assert "5xx ratio 7% on checkout" in body and body.count('<span class="status">firing</span>') == 2
    assert '<time datetime="2026-11-22T22:57:48Z">2026-11-22 22:57:48 UTC</time>' in body
    assert 'href="https://runbooks.example.com/high-error-rate"' in body
    assert 'href="https://grafana.example.com/d/svc?var-service=checkout"' in body
    assert "http://prometheus.example.com:9090/graph?g0.expr=" in body
    # the follow-up, its owner by name, overdue; the postmortem the resolution started
    followup = re.search(r'<tr class="open overdue">(.*?)</tr>', body, re.S)
    assert followup is not None
    assert [c.strip() for c in re.findall(r"<td>(.*?)</td>", followup.group(1), re.S)][:3] == [
        "1", "Add a retry budget", "bob"]
    assert "(overdue)" in followup.group(1)
    assert f"<dt>Owner</dt><dd>{names[commander]}</dd>" in body and "<dt>Status</dt><dd>Draft" in body
    assert '<dt>Due</dt><dd><time datetime="2026-11-25T23:00:00Z">' in body  # 72h after resolving: not overdue yet
    assert f'href="/ui/incidents/{incident_id}/postmortem"' in body
    # the timeline: opened, the alerts, the people's commands as entries (commands themselves are not)
    assert "opened" in body and "alert fired: HighErrorRate" in body and "role assigned: scribe: @carol" in body
    assert '<span class="what">resolved' in body and '<span class="what">command</span>' not in body
    assert "commander assigned: " + names[commander] in body


async def test_alert_labels_annotations_and_notes_render_as_inert_text(bot: WebBot) -> None:
    incident_id = await bot.open_incident(hostile_group())
    row = await bot.db.read(alerting.get_incident, incident_id)
    assert row is not None and row.commander
    # as Slack sends what a person typed: "<" as "&lt;"; and a raw one, as a pinned message could hold
    await bot.note(incident_id, "&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt;", row.commander)

    async with bot.browser("UDAVE") as browser:
        body = (await browser.get(f"/ui/incidents/{incident_id}")).text
    assert "<script>alert" not in body and "<img src=x" not in body and "onerror=alert(1)>" not in body
    assert 'team="&lt;script&gt;alert(1)&lt;/script&gt;"' in body  # the label
    assert "&lt;img src=x onerror=alert(1)&gt;" in body  # the annotation and the note
    assert "note: &lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt;" in body
    assert 'href="javascript:' not in body  # a runbook_url that is not a web link is no link


async def test_the_timeline_shows_the_latest_100_entries_and_older_ones_a_page_back(bot: WebBot) -> None:
    incident_id = await bot.open_incident(captured("1-firing"))
    before = await bot.db.read(_ids, incident_id)

    def notes(session: object) -> None:
        incident = store.lock_incident(session, incident_id)  # type: ignore[arg-type]
        assert incident is not None
        change = IncidentChange(incident, "UALICE", bot.clock())
        for n in range(150):
            add_note(change, f"step {n}")
        change.flush(session)  # type: ignore[arg-type]
    await bot.db.write(notes)
    added = [i for i in await bot.db.read(_ids, incident_id) if i not in before]
    assert len(added) == 150

    async with bot.browser("UBOB") as browser:
        first = (await browser.get(f"/ui/incidents/{incident_id}")).text
        older = re.search(r'<a rel="next" href="([^"]+)">Older entries</a>', first)
        assert older is not None
        second = (await browser.get(older.group(1).replace("&amp;", "&"))).text
        bad = await browser.get(f"/ui/incidents/{incident_id}?before=abc")
    assert entry_ids(first) == added[-100:]
    assert "step 149" in first and "step 50" in first and "step 49" not in first
    rest = entry_ids(second)
    assert rest[-50:] == added[:50] and not set(rest) & set(entry_ids(first))
    assert set(rest) | set(entry_ids(first)) == set(before) | set(added)
    assert "data-stream" in first and "data-stream" not in second  # only the latest entries grow live
    assert bad.status_code == 400 and "before must be a number" in bad.text


def _ids(session: object, incident_id: int) -> list[int]:
    from storage import timeline

    return [e.id for e in timeline.latest_events_except(session, incident_id, {"command"}, 10_000)]  # type: ignore[arg-type]


async def test_an_unknown_incident_is_a_404_naming_it_and_a_bad_id_a_400(bot: WebBot) -> None:
    async with bot.browser("UBOB") as browser:
        missing = await browser.get("/ui/incidents/4711")
        bad = await browser.get("/ui/incidents/abc")
    assert missing.status_code == 404 and "There is no incident #4711." in missing.text
    assert bad.status_code == 400 and "The incident id must be a number" in bad.text


async def test_without_a_session_the_page_redirects_to_sign_in_and_the_stream_is_refused(bot: WebBot) -> None:
    async with httpx.AsyncClient(base_url=bot.url) as anonymous:
        page = await anonymous.get("/ui/incidents/1")
        stream = await anonymous.get("/ui/incidents/1/stream")
    assert page.status_code == 302 and page.headers["Location"] == "/ui/login?next=%2Fui%2Fincidents%2F1"
    assert stream.status_code == 401
