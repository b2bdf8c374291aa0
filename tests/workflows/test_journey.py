"""The whole journey through the real bot, the Slack emulator and strict fakes of PagerDuty,
Grafana and a webhook receiver: an alert opens an incident and its workflow pages, annotates,
calls the webhook, posts and invites; the commander's acknowledgement acknowledges the page;
resolving resolves it and turns the annotation into a region; reopening pages again. On both
databases."""

from __future__ import annotations

from pathlib import Path

import httpx

from storage.database import Database
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.bot import WEBHOOK_TOKEN, running_bot
from tests.support.payloads import captured
from tests.support.slack import eventually, slack_settings
from tests.workflows.support import HOOK_SECRET, ROUTING_KEY, Peers, workflow_playbooks

JSON = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}


async def delivered(db: Database) -> None:
    async def done() -> bool:
        return all(o.state != "pending" for o in await rows.outbox(db))
    await eventually(done, what="outbox delivered")


async def test_open_acknowledge_resolve_keep_pagerduty_grafana_and_the_webhook_in_step(
        database_url: str, db: Database, slack: SlackEmulator, peers: Peers, tmp_path: Path) -> None:
    slack.seed_channel("payments-leads", members=["UALICE"])
    slack.add_usergroup("SLEADS", ["UBOB", "UDAVE"])
    settings = slack_settings(database_url, slack, workflow_playbooks(tmp_path, peers.hooks.url), **peers.settings())
    async with running_bot(settings) as bot, httpx.AsyncClient() as client:
        response = await client.post(f"{bot}/alertmanager", content=captured("1-firing"), headers=JSON)
        assert response.status_code == 200
        await delivered(db)
        [incident] = await rows.incidents(db)

        # Opened: triggered, annotated, called, posted, invited.
        [alert] = peers.pagerduty.alerts.values()
        assert alert.status == "triggered" and alert.severity == "critical"
        assert alert.summary == f"[SEV1] {incident.title} (incident #{incident.id})"
        hrefs = [link["href"] for link in alert.links]
        assert f"https://incident-bot.example.com/ui/incidents/{incident.id}" in hrefs
        assert f"https://slack.com/app_redirect?channel={incident.channel_id}" in hrefs
        [annotation] = peers.grafana.annotations.values()
        assert {"incident", "payments"} <= set(annotation.tags)
        assert incident.title in annotation.text and f"/ui/incidents/{incident.id}" in annotation.text
        assert annotation.time == annotation.time_end  # a point until it resolves
        [hook] = peers.hooks.accepted
        assert hook["event"]["kind"] == "incident.opened" and hook["incident"]["id"] == incident.id
        assert hook["links"]["incident"].endswith(f"/ui/incidents/{incident.id}")
        assert peers.hooks.refused == []
        leads = slack.channel_by_name("payments-leads")
        assert leads is not None
        assert [m.text for m in slack.messages(leads.id)] == [f"{incident.title} is SEV1"]
        assert {"UCAROL", "UBOB", "UDAVE"} <= slack.channel(incident.channel_id).members

        # The commander acknowledges: the page is acknowledged.
        header_ts = slack.messages(incident.channel_id)[0].ts
        events_url = f"{bot}/slack/events"
        response = await slack.click(events_url, channel_id=incident.channel_id, message_ts=header_ts,
                                     action_id="incident_acknowledge", user_id=incident.commander)
        assert response.status_code == 200
        await eventually(lambda: alert.status == "acknowledged", what="the page acknowledged")

        # Resolved: the page resolves and the annotation becomes a region.
        response = await slack.slash_command(events_url, command="/incident", text="resolve rolled back",
                                             user_id=incident.commander, channel_id=incident.channel_id)
        assert response.status_code == 200
        await eventually(lambda: alert.status == "resolved", what="the page resolved")
        await eventually(lambda: annotation.time_end > annotation.time, what="the annotation's region")
        await delivered(db)
        assert alert.history == ["trigger", "acknowledge", "resolve"]

        # Reopened: paged again, under the same dedup key.
        response = await slack.slash_command(events_url, command="/incident", text="reopen",
                                             user_id=incident.commander, channel_id=incident.channel_id)
        assert response.status_code == 200
        await eventually(lambda: peers.pagerduty.alerts[alert.dedup_key].status == "triggered", what="paged again")
        await delivered(db)

    again = peers.pagerduty.alerts[alert.dedup_key]
    assert again.history == ["trigger", "acknowledge", "resolve", "trigger"] and again.triggers == 2
    assert len(peers.pagerduty.events) == 4 and len(peers.hooks.accepted) == 1
    assert all(no_secret_in(o.payload) for o in await rows.outbox(db))
    actions = [e.data["action"] for e in await rows.events(db, incident.id) if e.kind == "workflow.action"]
    assert actions.count("page") == 4 and "grafana_annotation" in actions and "grafana_region" in actions
    assert {"webhook", "post", "invite"} <= set(actions)


def no_secret_in(payload: object) -> bool:
    return ROUTING_KEY not in str(payload) and HOOK_SECRET not in str(payload)
