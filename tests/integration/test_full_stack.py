"""No fakes but Slack: an instrumented target, real Prometheus with exemplar storage, an
alert rule, real Alertmanager with bearer auth, the bot, and the Slack emulator."""

from __future__ import annotations

import random
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST, generate_latest

from storage.database import Database
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.alertmanager import running_alertmanager
from tests.support.bot import WEBHOOK_TOKEN, free_port, running_bot
from tests.support.prometheus import running_prometheus
from tests.support.slack import SLACK_PLAYBOOKS, eventually, slack_settings
from tests.support.stub_server import stub_server

pytestmark = pytest.mark.integration

RULES = """
groups:
  - name: checkout
    interval: 1s
    rules:
      - alert: CheckoutSlow
        expr: histogram_quantile(0.9, sum by (le) (rate(checkout_request_duration_seconds_bucket[10s]))) > 0.5
        labels: {severity: critical, service: checkout}
        annotations:
          summary: p90 checkout latency above 500 ms
          runbook_url: https://runbooks.example.com/checkout-slow
"""


def prometheus_config(target: str, alertmanager: str) -> str:
    return f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: [RULES_FILE]
alerting:
  alertmanagers: [{{static_configs: [{{targets: ["{alertmanager}"]}}]}}]
scrape_configs:
  - job_name: checkout
    static_configs: [{{targets: ["{target}"]}}]
"""


def alertmanager_config(bot: str, token_file: Path) -> str:
    return f"""
route:
  receiver: bot
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: bot
    webhook_configs:
      - url: {bot}/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials_file: {token_file}
"""


class Target:
    """A service whose request latency the test controls, exposing exemplars with trace ids."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.histogram = Histogram("checkout_request_duration_seconds", "Checkout latency.",
                                   buckets=(0.1, 0.25, 0.5, 1.0, 2.5), registry=self.registry)
        self.slow = False
        self.trace_ids: list[str] = []

    def serve_some(self) -> None:
        for _ in range(20):
            trace_id = f"{random.getrandbits(64):016x}"
            value = random.uniform(1.2, 2.2) if self.slow else random.uniform(0.01, 0.05)
            self.histogram.observe(value, exemplar={"trace_id": trace_id})
            if self.slow:
                self.trace_ids.append(trace_id)

    async def metrics(self, request: web.Request) -> web.Response:
        self.serve_some()
        return web.Response(body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_slow_requests_open_an_incident_with_runbook_and_exemplar_trace_links_then_resolve(
        database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> None:
    target = Target()
    token_file = tmp_path / "token"
    token_file.write_text(WEBHOOK_TOKEN)
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir()
    (playbooks / "incidents.yml").write_text((SLACK_PLAYBOOKS / "incidents.yml").read_text().replace(
        "    storm_guard: {max_incidents: 5, window: 10m}",
        '    trace_url: "https://tempo.example.com/trace/{{ trace_id }}"'))
    bot_port = free_port()  # Alertmanager must know the bot before the bot knows Alertmanager
    bot = f"http://127.0.0.1:{bot_port}"
    async with stub_server(("GET", "/metrics", target.metrics)) as target_url:
        async with running_alertmanager(tmp_path / "am", alertmanager_config(bot, token_file)) as am:
            config = prometheus_config(target_url.removeprefix("http://"), am.url.removeprefix("http://"))
            async with running_prometheus(tmp_path / "prom", config, RULES) as prometheus:
                settings = slack_settings(database_url, slack, playbooks, prometheus_url=prometheus,
                                          alertmanager_url=am.url)
                async with running_bot(settings, port=bot_port):
                    await _scenario(target, slack, db, bot, am.url)


async def _scenario(target: Target, slack: SlackEmulator, db: Database, bot: str, alertmanager: str) -> None:
    target.slow = True

    async def opened() -> bool:
        incidents = await rows.incidents(db)
        return bool(incidents and incidents[0].header_ts)
    await eventually(opened, timeout=60, what="incident opened from the real alert")
    [incident] = await rows.incidents(db)
    channel = str(incident.channel_id)
    assert incident.title.startswith("CheckoutSlow")

    def texts() -> list[str]:
        return [m.text for m in slack.messages(channel)]
    await eventually(lambda: any(t.startswith("*Traces*") for t in texts()), timeout=30, what="trace links")
    links = next(t for t in texts() if t.startswith("*Links*"))
    assert "https://runbooks.example.com/checkout-slow" in links
    traces = next(t for t in texts() if t.startswith("*Traces*"))
    assert any(f"https://tempo.example.com/trace/{trace_id}" in traces for trace_id in target.trace_ids)

    reply = await slack.slash_command(f"{bot}/slack/events", text="silence 1h", user_id="UBOB", channel_id=channel)
    assert reply.json()["text"].startswith("Silenced until")
    async with httpx.AsyncClient() as client:
        silences = (await client.get(f"{alertmanager}/api/v2/silences")).json()
    assert [s["status"]["state"] for s in silences] == ["active"]
    assert {"name": "alertname", "value": "CheckoutSlow", "isRegex": False, "isEqual": True} in silences[0]["matchers"]

    # Alertmanager sends no notification for a silenced alert, resolved ones included: lift it first.
    off = await slack.slash_command(f"{bot}/slack/events", text="silence off", user_id="UBOB", channel_id=channel)
    assert off.json()["text"] == "Expired 1 silence."
    target.slow = False
    await eventually(lambda: any("resolved: CheckoutSlow" in t for t in texts()), timeout=90,
                     what="the resolved notification in the channel")
    [alert] = await rows.alerts(db)
    assert alert.status == "resolved"
