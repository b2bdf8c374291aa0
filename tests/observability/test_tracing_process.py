"""The bot, as a real process exporting OTLP/HTTP to a real receiver: one trace follows an
alert from the webhook (continuing the caller's ``traceparent``) through its transaction to
the Slack calls the outbox made for it, also when the process that delivers them is not the
one that took the webhook (SIGKILL in between)."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

import httpx
import pytest

from storage.database import Database
from tests.chaos.storm import bot_process, terminate
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.bot import WEBHOOK_TOKEN
from tests.support.otlp import OtlpReceiver, ReceivedSpan, running_receiver
from tests.support.payloads import body, group
from tests.support.slack import SLACK_PLAYBOOKS, SLACK_TOKEN, eventually

SERVER, CLIENT, CONSUMER = 2, 3, 5
STATUS_ERROR = 2


def traced_env(receiver: OtlpReceiver, **extra: str) -> dict[str, str]:
    # A batch of one: each finished span wakes the exporter thread at once, instead of its
    # timed wait, which never ends under libfaketime with the date moved (as CI runs it).
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_SERVICE_NAME": "incident-bot-under-test",
            "OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "1", "LOG_FORMAT": "json", **extra}


async def post_alert(url: str, traceparent: str, alertname: str = "HighErrorRate") -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(f"{url}/alertmanager", content=body(group(alertname)), headers={
            "Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json", "traceparent": traceparent})


def new_traceparent() -> tuple[str, str, str]:
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{parent_id}-01", trace_id, parent_id


def slack_calls(spans: list[ReceivedSpan], slack: SlackEmulator) -> list[str]:
    """The Slack Web API methods called in these client spans (the path of each request)."""
    methods = []
    for span in spans:
        url = str(span.attributes.get("url.full") or span.attributes.get("http.url") or "")
        if span.kind == CLIENT and url.startswith(slack.api_url):
            methods.append(url.rsplit("/", 1)[-1])
    return methods


def delivered_in(spans: list[ReceivedSpan], slack: SlackEmulator) -> bool:
    """The channel created and a message posted, each call with the span of its action exported."""
    calls = [s for s in spans if slack_calls([s], slack)]
    return {"conversations.create", "chat.postMessage"} <= set(slack_calls(calls, slack)) and all(
        any(a.kind == CONSUMER for a in ancestors(call, spans)) for call in calls)


def ancestors(span: ReceivedSpan, spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    by_id = {s.span_id: s for s in spans}
    chain, current = [], by_id.get(span.parent_span_id)
    while current is not None:
        chain.append(current)
        current = by_id.get(current.parent_span_id)
    return chain


async def test_a_webhook_with_a_traceparent_yields_one_trace_from_request_to_transaction_to_slack_calls(
        database_url: str, slack: SlackEmulator, tmp_path: Path) -> None:
    slack.add_user("UGHOST", "ghost")  # the playbook's second responder, so every invitation succeeds
    async with running_receiver() as receiver:
        bot = bot_process(database_url, slack, SLACK_PLAYBOOKS, tmp_path, **traced_env(receiver))
        await bot.start()
        try:
            traceparent, trace_id, caller_span = new_traceparent()
            response = await post_alert(bot.url, traceparent)
            assert response.status_code == 200, response.text

            def slack_work_traced() -> bool:
                return delivered_in(receiver.trace(trace_id), slack)
            await eventually(slack_work_traced, timeout=30, what="the Slack calls in the webhook's trace")
            async with httpx.AsyncClient(timeout=10) as client:
                scrape = await client.get(f"{bot.url}/metrics", headers={"Accept": "application/openmetrics-text"})
                plain = await client.get(f"{bot.url}/metrics")
        finally:
            await terminate(bot, within=20)  # the emulator and the receiver keep serving meanwhile
            bot.stop()  # (only if it did not exit)

    spans = receiver.trace(trace_id)
    assert {s.service for s in spans} == {"incident-bot-under-test"}
    [server] = [s for s in spans if s.kind == SERVER]
    assert server.name == "POST /alertmanager" and server.parent_span_id == caller_span
    assert server.attributes["http.response.status_code"] == 200
    assert server.attributes["http.route"] == "/alertmanager" and server.attributes["http.request.method"] == "POST"
    assert not [s for s in spans if s.name == "ingest alertmanager notification"], "the request's span records it"
    assert server.attributes["incident_bot.outcome"] == "open"  # the transaction, on the request's span
    assert "/" in server.attributes["incident_bot.route"]  # <playbook>/<route>
    incident_id = server.attributes["incident_bot.incident.id"]
    assert server.events == {}  # what was decided is in the attributes above, not in an event
    statements = [s for s in spans if s.kind == CLIENT and s.attributes.get("db.system", s.attributes.get("db.system.name"))]
    if database_url.startswith("postgresql"):  # a span per round trip; SQLite's in-process statements have none
        assert any(server in ancestors(s, spans) and "INSERT" in s.name.upper() for s in statements), "the statements"
        assert {s.attributes.get("db.system", s.attributes.get("db.system.name")) for s in statements} == {"postgresql"}
    else:
        assert statements == []

    deliveries = [s for s in spans if s.kind == CONSUMER]
    assert deliveries and all(server in ancestors(d, spans) for d in deliveries), "every action descends from the request"
    assert {d.attributes["incident_bot.incident.id"] for d in deliveries} == {incident_id}
    assert {d.attributes["incident_bot.outcome"] for d in deliveries} == {"done"}
    for call in (s for s in spans if slack_calls([s], slack)):
        assert any(a.kind == CONSUMER for a in ancestors(call, spans)), f"{call.name} is not under an action's span"
    assert all("xoxb" not in json.dumps(s.attributes) for s in spans), "no token in an attribute"
    assert not any("?" in str(s.attributes.get("http.url", s.attributes.get("url.full", ""))) for s in spans), \
        "no query string (a topic, a message) in a URL attribute"

    lines = [json.loads(line) for line in bot.logs().splitlines() if line.startswith("{")]
    stored = [line for line in lines if line.get("event") == "webhook stored"]
    assert stored and stored[0]["trace_id"] == trace_id and re.fullmatch(r"[0-9a-f]{16}", stored[0]["span_id"])

    assert scrape.headers["Content-Type"].startswith("application/openmetrics-text")
    exemplars = re.findall(r'^incident_bot_(?:http_request|slack_api_call)_duration_seconds_bucket\{.*\} \S+ # \{trace_id="([0-9a-f]{32})"\}',
                           scrape.text, re.MULTILINE)
    assert trace_id in exemplars, "the latency histograms link to the trace"
    assert scrape.text.rstrip().endswith("# EOF")
    assert plain.headers["Content-Type"].startswith("text/plain") and "trace_id" not in plain.text


async def test_slack_calls_made_after_a_sigkill_and_restart_still_join_the_webhooks_trace(
        database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> None:
    async with running_receiver() as receiver:
        # First start: no Slack token, so the actions wait in the outbox.
        bot = bot_process(database_url, slack, SLACK_PLAYBOOKS, tmp_path, **traced_env(receiver), SLACK_BOT_TOKEN="")
        bot.env.pop("SLACK_BOT_TOKEN")
        await bot.start()
        traceparent, trace_id, caller_span = new_traceparent()
        try:
            assert (await post_alert(bot.url, traceparent)).status_code == 200
            waiting = [a for a in await rows.outbox(db) if a.state == "pending"]
            assert waiting and all(trace_id in (a.trace_context or {}).get("traceparent", "") for a in waiting)
            await eventually(lambda: any(s.kind == SERVER for s in receiver.trace(trace_id)), timeout=10,
                             what="the first process's request span exported")
            bot.kill()
            assert slack.calls_to("conversations.create") == []

            bot.env["SLACK_BOT_TOKEN"] = SLACK_TOKEN
            await bot.start()

            def delivered_in_trace() -> bool:
                return delivered_in(receiver.trace(trace_id), slack)
            await eventually(delivered_in_trace, timeout=30, what="the restarted bot's Slack calls in the webhook's trace")
        finally:
            await terminate(bot, within=20)  # the emulator and the receiver keep serving meanwhile
            bot.stop()  # (only if it did not exit)

    spans = receiver.trace(trace_id)
    [server] = [s for s in spans if s.kind == SERVER]
    assert server.parent_span_id == caller_span
    deliveries = [s for s in spans if s.kind == CONSUMER]
    assert deliveries and all(server in ancestors(d, spans) for d in deliveries)
    assert all(d.parent_span_id != "" for d in deliveries)


async def test_with_the_server_spans_left_off_the_delivery_still_has_a_span_of_its_own(
        database_url: str, slack: SlackEmulator, tmp_path: Path) -> None:
    async with running_receiver() as receiver:
        bot = bot_process(database_url, slack, SLACK_PLAYBOOKS, tmp_path,
                          **traced_env(receiver, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="aiohttp-server"))
        await bot.start()
        try:
            traceparent, caller_trace, _ = new_traceparent()
            assert (await post_alert(bot.url, traceparent)).status_code == 200

            def delivered_in_the_ingest_trace() -> bool:
                ingests = [s for s in receiver.spans if s.name == "ingest alertmanager notification"]
                return bool(ingests) and delivered_in(receiver.trace(ingests[0].trace_id), slack)
            await eventually(delivered_in_the_ingest_trace, timeout=30, what="the Slack calls in the delivery's trace")
        finally:
            await terminate(bot, within=20)
            bot.stop()
    assert not [s for s in receiver.spans if s.kind == SERVER]
    [ingest] = [s for s in receiver.spans if s.name == "ingest alertmanager notification"]
    assert ingest.parent_span_id == "" and ingest.trace_id != caller_trace  # no request span: nothing continued
    assert ingest.attributes["incident_bot.outcome"] == "open"
    spans = receiver.trace(ingest.trace_id)
    deliveries = [s for s in spans if s.kind == CONSUMER]
    assert deliveries and all(ingest in ancestors(d, spans) for d in deliveries)


@pytest.mark.parametrize("disabled", [{"OTEL_SDK_DISABLED": "true"}, {"OTEL_EXPORTER_OTLP_ENDPOINT": ""}])
async def test_without_an_endpoint_or_with_the_sdk_disabled_nothing_is_exported_or_stored(
        database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path, disabled: dict[str, str]) -> None:
    async with running_receiver() as receiver:
        env = {**traced_env(receiver), **disabled}
        if not env["OTEL_EXPORTER_OTLP_ENDPOINT"]:
            env.pop("OTEL_EXPORTER_OTLP_ENDPOINT")
        bot = bot_process(database_url, slack, SLACK_PLAYBOOKS, tmp_path, **env)
        await bot.start()
        try:
            traceparent, _, _ = new_traceparent()
            assert (await post_alert(bot.url, traceparent)).status_code == 200
            await eventually(lambda: len(slack.calls_to("chat.postMessage")) > 0, timeout=30, what="Slack work done")
        finally:
            await terminate(bot, within=20)  # the emulator and the receiver keep serving meanwhile
            bot.stop()  # (only if it did not exit)
        assert receiver.exports == 0 and receiver.spans == []
    assert all(a.trace_context is None for a in await rows.outbox(db))
    lines = [json.loads(line) for line in bot.logs().splitlines() if line.startswith("{")]
    assert lines and not any("trace_id" in line for line in lines)
