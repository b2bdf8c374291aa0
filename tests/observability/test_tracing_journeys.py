"""A slash command (over HTTP and over Socket Mode) and a timer are traced as a webhook delivery
is, and an alert's workflow joins the alert's trace: the bot as a real process exporting to a
real OTLP receiver, the command's, the timer's or the request's span the root of a trace that
holds the calls the outbox made for it, to Slack and to PagerDuty, Grafana, a webhook and
GitHub (a follow-up's issue)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from storage.database import Database
from storage.rows import IncidentRow
from tests.chaos.replicas import playbook
from tests.chaos.storm import bot_process, terminate
from tests.fakes.github import fake_github
from tests.observability.test_tracing_process import (
    CLIENT,
    CONSUMER,
    SERVER,
    ancestors,
    new_traceparent,
    post_alert,
    slack_calls,
    traced_env,
)
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.bot import WEBHOOK_TOKEN
from tests.support.otlp import ReceivedSpan, running_receiver
from tests.support.payloads import captured
from tests.support.slack import RATE_SCALE, SIGNING_SECRET, SLACK_PLAYBOOKS, SLACK_TOKEN, USERS, eventually
from tests.workflows.support import GRAFANA_TOKEN, running_peers, workflow_playbooks

APP_TOKEN = "xapp-1-A0EMULATOR-socket-mode-7d2e"
COMMAND_TEXT = "severity sev2 customers recovering"


@pytest.fixture
async def socket_slack() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator(token=SLACK_TOKEN, signing_secret=SIGNING_SECRET, users=USERS,
                             rate_limit_scale=RATE_SCALE, app_token=APP_TOKEN) as emulator:
        emulator.seed_channel("incidents", members=["UALICE"])
        yield emulator


def command_span(spans: list[ReceivedSpan]) -> ReceivedSpan | None:
    return next((s for s in spans if s.kind == SERVER and s.attributes.get("incident_bot.slack.command")), None)


async def open_incident(bot_url: str, db: Database) -> IncidentRow:
    """An alert's incident, once its channel exists and its header is posted."""
    assert (await post_alert(bot_url, new_traceparent()[0])).status_code == 200

    async def opened() -> bool:
        incidents = await rows.incidents(db)
        return bool(incidents and incidents[0].header_ts)
    await eventually(opened, what="the incident's channel and header")
    [incident] = await rows.incidents(db)
    assert incident.channel_id and incident.commander
    return incident


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("transport", ["http", "socket mode"])
async def test_a_slash_commands_slack_calls_are_in_the_commands_trace(
        database_url: str, socket_slack: SlackEmulator, db: Database, tmp_path: Path, transport: str) -> None:
    slack = socket_slack
    slack.add_user("UGHOST", "ghost")
    extra = {"SLACK_SIGNING_SECRET": SIGNING_SECRET}
    if transport == "socket mode":
        extra["SLACK_APP_TOKEN"] = APP_TOKEN
    async with running_receiver() as receiver:
        bot = bot_process(database_url, slack, SLACK_PLAYBOOKS, tmp_path, **traced_env(receiver), **extra)
        await bot.start()
        try:
            incident = await open_incident(bot.url, db)
            posted_before = len(slack.calls_to("chat.postMessage"))
            if transport == "http":
                response = await slack.slash_command(f"{bot.url}/slack/events", text=COMMAND_TEXT, user_id=incident.commander,
                                                     channel_id=incident.channel_id)
                assert response.status_code == 200 and response.json()["text"] == "Severity is now SEV2."
            else:
                ack = await slack.socket_slash_command(text=COMMAND_TEXT, user_id=incident.commander,
                                                       channel_id=incident.channel_id)
                assert ack["payload"]["text"] == "Severity is now SEV2."

            def announced_in_the_commands_trace() -> bool:
                span = command_span(receiver.spans)
                return span is not None and len(slack.calls_to("chat.postMessage")) > posted_before and any(
                    m == "chat.postMessage" for m in slack_calls(receiver.trace(span.trace_id), slack))
            await eventually(announced_in_the_commands_trace, timeout=30, what="the announcement in the command's trace")
        finally:
            await terminate(bot, within=20)
            bot.stop()

    command = command_span(receiver.spans)
    assert command is not None
    spans = receiver.trace(command.trace_id)
    assert command.attributes["incident_bot.slack.request"] == "slash_command"
    assert command.attributes["incident_bot.slack.command"] == "/incident"
    if transport == "http":  # the request's own span records the command
        assert command.name == "POST /slack/events" and command.attributes["http.route"] == "/slack/events"
    else:  # no HTTP request: a span of the bot's own starts the trace
        assert command.name == "slack /incident" and command.parent_span_id == ""
    assert "customers recovering" not in json.dumps([s.attributes for s in spans]), "no command text in an attribute"
    deliveries = [s for s in spans if s.kind == CONSUMER]
    assert deliveries and all(command in ancestors(d, spans) for d in deliveries)
    assert {d.attributes["incident_bot.incident.id"] for d in deliveries} == {incident.id}
    posts = [s for s in spans if s.kind == CLIENT and "chat.postMessage" in slack_calls([s], slack)]
    assert posts and all(any(a.kind == CONSUMER for a in ancestors(p, spans)) for p in posts)
    alert_traces = {s.trace_id for s in receiver.spans if s.name == "POST /alertmanager"}
    assert command.trace_id not in alert_traces, "the command's trace is its own, not the alert's"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_timers_slack_calls_are_in_the_timers_trace(
        database_url: str, socket_slack: SlackEmulator, db: Database, tmp_path: Path) -> None:
    slack = socket_slack
    playbooks = playbook(tmp_path / "playbooks", ack_timeout="2s")  # nobody acknowledges: it escalates
    async with running_receiver() as receiver:
        bot = bot_process(database_url, slack, playbooks, tmp_path, **traced_env(receiver))
        await bot.start()
        try:
            assert (await post_alert(bot.url, new_traceparent()[0])).status_code == 200

            def escalated_in_the_timers_trace() -> bool:
                fired = [s for s in receiver.spans if s.name == "fire timer ack_timeout"]
                return bool(fired) and "chat.postMessage" in slack_calls(receiver.trace(fired[0].trace_id), slack)
            await eventually(escalated_in_the_timers_trace, timeout=30, what="the escalation in the timer's trace")
        finally:
            await terminate(bot, within=20)
            bot.stop()

    fired = next(s for s in receiver.spans if s.name == "fire timer ack_timeout")
    [incident] = await rows.incidents(db)
    assert fired.parent_span_id == "" and fired.attributes["incident_bot.timer.kind"] == "ack_timeout"
    assert fired.attributes["incident_bot.incident.id"] == incident.id
    spans = receiver.trace(fired.trace_id)
    deliveries = [s for s in spans if s.kind == CONSUMER]
    assert deliveries and all(fired in ancestors(d, spans) for d in deliveries)
    posts = [s for s in spans if s.kind == CLIENT and "chat.postMessage" in slack_calls([s], slack)]
    assert posts and all(any(a.kind == CONSUMER for a in ancestors(p, spans)) for p in posts)
    assert fired.trace_id not in {s.trace_id for s in receiver.spans if s.name == "POST /alertmanager"}


def calls_to(spans: list[ReceivedSpan], base_url: str) -> list[ReceivedSpan]:
    """The client spans of requests to the service at ``base_url`` (httpx's or aiohttp's)."""
    return [s for s in spans if s.kind == CLIENT
            and str(s.attributes.get("url.full") or s.attributes.get("http.url") or "").startswith(base_url)]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_alerts_workflow_pages_annotates_and_calls_its_webhook_in_the_alerts_trace(
        database_url: str, socket_slack: SlackEmulator, tmp_path: Path) -> None:
    slack = socket_slack
    slack.seed_channel("payments-leads", members=["UALICE"])
    slack.add_usergroup("SLEADS", ["UBOB", "UDAVE"])
    async with running_receiver() as receiver, running_peers() as peers:
        bot = bot_process(database_url, slack, workflow_playbooks(tmp_path, peers.hooks.url), tmp_path,
                          **traced_env(receiver), **peers.environment(), PAGERDUTY_EVENTS_URL=peers.pagerduty.url,
                          GRAFANA_URL=peers.grafana.url, GRAFANA_TOKEN=GRAFANA_TOKEN,
                          PUBLIC_URL="https://incident-bot.example.com")
        await bot.start()
        try:
            traceparent, trace_id, _ = new_traceparent()
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.post(f"{bot.url}/alertmanager", content=captured("1-firing"), headers={
                    "Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json",
                    "traceparent": traceparent})
            assert response.status_code == 200, response.text

            def every_service_called_in_the_trace() -> bool:
                spans = receiver.trace(trace_id)
                return all(calls_to(spans, url) for url in (peers.pagerduty.url, peers.grafana.url, peers.hooks.url))
            await eventually(every_service_called_in_the_trace, timeout=30, what="the workflow's calls in the trace")
        finally:
            await terminate(bot, within=20)
            bot.stop()

    spans = receiver.trace(trace_id)
    [server] = [s for s in spans if s.kind == SERVER]
    assert server.name == "POST /alertmanager"
    for url in (peers.pagerduty.url, peers.grafana.url, peers.hooks.url):
        for call in calls_to(spans, url):
            actions = [a for a in ancestors(call, spans) if a.kind == CONSUMER]
            assert actions and server in ancestors(actions[0], spans), f"{call.name} to {url} is not under the alert"
    assert "R0UT1NGKEY" not in json.dumps([s.attributes for s in spans]), "no routing key in an attribute"
    assert GRAFANA_TOKEN not in json.dumps([s.attributes for s in spans]), "no token in an attribute"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_followups_github_issue_is_created_in_the_commands_trace(
        database_url: str, socket_slack: SlackEmulator, db: Database, tmp_path: Path) -> None:
    slack = socket_slack
    slack.add_user("UGHOST", "ghost")
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir()
    (playbooks / "incidents.yml").write_text((SLACK_PLAYBOOKS / "incidents.yml").read_text()
                                             + "followups: {tracker: github, github_repo: acme/ops}\n")
    async with running_receiver() as receiver, fake_github({"ghp-traced": {"acme/ops"}}, repos=("acme/ops",)) as github:
        bot = bot_process(database_url, slack, playbooks, tmp_path, **traced_env(receiver),
                          SLACK_SIGNING_SECRET=SIGNING_SECRET, GITHUB_TOKEN="ghp-traced", GITHUB_API_URL=github.url,
                          PUBLIC_URL="https://incident-bot.example.com")
        await bot.start()
        try:
            incident = await open_incident(bot.url, db)
            response = await slack.slash_command(f"{bot.url}/slack/events", user_id=incident.commander,
                                                 text="followup Add a canary stage to checkout deploys",
                                                 channel_id=incident.channel_id)
            assert response.status_code == 200, response.text

            def exported_in_the_commands_trace() -> bool:
                span = command_span(receiver.spans)
                return span is not None and bool(calls_to(receiver.trace(span.trace_id), github.url))
            await eventually(exported_in_the_commands_trace, timeout=30, what="the issue created in the trace")
        finally:
            await terminate(bot, within=20)
            bot.stop()

    assert [i["title"] for i in github.issues("acme/ops")] == ["Add a canary stage to checkout deploys"]
    command = command_span(receiver.spans)
    assert command is not None
    spans = receiver.trace(command.trace_id)
    [export] = [s for s in spans if s.kind == CONSUMER and s.name == "deliver github.issue"]
    assert command in ancestors(export, spans)
    assert all(export in ancestors(call, spans) for call in calls_to(spans, github.url))
    assert "ghp-traced" not in json.dumps([s.attributes for s in spans]), "no token in an attribute"
    assert "canary" not in json.dumps([s.attributes for s in spans]), "no follow-up text in an attribute"
