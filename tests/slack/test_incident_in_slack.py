"""End to end: a webhook through the bot's HTTP server, the outbox, the real slack_sdk,
and the strict Slack emulator."""

from __future__ import annotations

import json

import httpx

from storage.database import Database
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.bot import WEBHOOK_TOKEN
from tests.support.payloads import body, captured, group
from tests.support.slack import eventually

JSON = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}


async def post(url: str, content: bytes) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(f"{url}/alertmanager", content=content, headers=JSON)
    assert response.status_code == 200, response.text
    return response


def texts(slack: SlackEmulator, channel_id: str) -> list[str]:
    return [m.text for m in slack.messages(channel_id)]


async def test_alert_group_opens_a_channel_with_people_pinned_header_links_and_bookmarks(
        slack_bot: str, slack: SlackEmulator, db: Database) -> None:
    await post(slack_bot, captured("1-firing"))

    async def delivered() -> bool:
        return all(o.state != "pending" for o in await rows.outbox(db))
    await eventually(delivered, what="outbox delivered")

    [incident] = await rows.incidents(db)
    channel = slack.channel_by_name(incident.channel_name)
    assert channel is not None and channel.id == incident.channel_id
    assert incident.channel_name.startswith("inc-") and incident.channel_name.endswith("-1-high-error-rate-in-checkout")
    assert channel.topic["value"].startswith(f"SEV1 · Investigating · commander <@{incident.commander}>")
    assert channel.purpose["value"].startswith("Incident #1: HighErrorRate in checkout.")
    assert {incident.commander, "UDAVE"} <= channel.members

    header = slack.messages(channel.id)[0]
    assert header.ts == incident.header_ts
    assert header.blocks is not None and header.blocks[0]["text"]["text"] == "SEV1 · HighErrorRate in checkout"
    assert "*Firing alerts (2)*" in header.blocks[2]["text"]["text"]
    assert [p.ts for p in slack.pins(channel.id)] == [header.ts]

    links = next(t for t in texts(slack, channel.id) if t.startswith("*Links*"))
    assert "<https://runbooks.example.com/high-error-rate|Runbook> (runbook)" in links
    assert "<https://grafana.example.com/d/svc?var-service=checkout|Grafana checkout> (dashboard)" in links
    assert "http://prometheus.example.com:9090/graph?g0.expr=job%3Acheckout_5xx_ratio+%3E+0.05&amp;g0.tab=1" in links or \
        "http://prometheus.example.com:9090/graph?g0.expr=job%3Acheckout_5xx_ratio+%3E+0.05&g0.tab=1" in links
    assert [(b.title, b.link) for b in slack.bookmarks(channel.id)] == [
        ("Runbook", "https://runbooks.example.com/high-error-rate"),
        ("Grafana checkout", "https://grafana.example.com/d/svc?var-service=checkout")]

    # A responder id that does not exist: recorded on the action, the timeline and in the channel.
    failed = [o for o in await rows.outbox(db) if o.state == "failed"]
    assert [(o.kind, o.payload["user"], o.last_error) for o in failed] == [
        ("channel.invite", "UGHOST", "conversations.invite: user_not_found")]
    assert "slack.action_failed" in await rows.event_kinds(db, incident.id)
    assert ":warning: incident-bot could not invite UGHOST: Slack said `user_not_found`." in texts(slack, channel.id)


async def test_resolved_notifications_post_one_line_each_and_keep_the_header_current(
        slack_bot: str, slack: SlackEmulator, db: Database) -> None:
    await post(slack_bot, captured("1-firing"))
    await post(slack_bot, captured("2-one-resolved"))
    await post(slack_bot, captured("3-all-resolved"))

    async def delivered() -> bool:
        return all(o.state != "pending" for o in await rows.outbox(db))
    await eventually(delivered, what="outbox delivered")

    [incident] = await rows.incidents(db)
    # Changes queued together are batched into one message, in order.
    channel_text = "\n".join(texts(slack, incident.channel_id))
    expected = [":white_check_mark: 1 resolved: HighErrorRate 10.0.0.12:8080",
                ":white_check_mark: 1 resolved: HighErrorRate 10.0.0.13:8080",
                f":tada: All alerts have resolved. <@{incident.commander}>, type `/incident resolve` once you are sure "
                "it is over."]
    positions = [channel_text.find(line) for line in expected]
    assert -1 not in positions and positions == sorted(positions), channel_text
    header = slack.messages(incident.channel_id)[0]
    assert header.edited is not None
    assert header.blocks is not None and "All alerts have resolved" in json.dumps(header.blocks)
    assert 1 <= len(slack.calls_to("chat.update")) <= 2  # a queued update supersedes an earlier one


async def test_recorded_group_is_posted_to_triage_once_then_edited(
        slack_bot: str, slack: SlackEmulator, db: Database) -> None:
    first = group(alertname="DiskFilling", severity="warning", alerts=2)
    more = group(alertname="DiskFilling", severity="warning", alerts=3)
    await post(slack_bot, body(first))

    triage = slack.channel_by_name("alerts-triage")
    assert triage is not None
    await eventually(lambda: len(slack.messages(triage.id)) == 1, what="triage notice")
    await post(slack_bot, body(more))
    await eventually(lambda: len(slack.calls_to("chat.update")) == 1, what="triage notice edited")

    [notice] = slack.messages(triage.id)
    assert "*DiskFilling* (SEV3, :warning: 3 firing; not declared)" in json.dumps(notice.blocks)
    assert "triage_declare" in json.dumps(notice.blocks)
    assert await rows.incidents(db) == []
