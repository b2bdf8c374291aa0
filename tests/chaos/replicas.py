"""Bot replicas for the outage scenarios: their playbook, Alertmanager fanned out to all of
them, their Prometheus counters, a stop that keeps the emulator serving, and the check that
each incident's Slack work arrived in the order the outbox queued it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from storage.models import Incident, OutboxAction
from tests.chaos.storm import terminate
from tests.slack_emulator import SlackEmulator
from tests.support.process import BotProcess

# Slack calls that only read: an action's retry looks for what an interrupted attempt did.
READS = frozenset({"conversations.history", "conversations.list", "bookmarks.list", "auth.test"})
# The one write call each outbox kind makes in the incident channel (what is left out: see queued_calls).
WRITE_CALL = {
    "channel.topic": "conversations.setTopic", "channel.purpose": "conversations.setPurpose",
    "channel.invite": "conversations.invite", "message.header": "chat.postMessage", "message.pin_header": "pins.add",
    "message.update_header": "chat.update", "message.post": "chat.postMessage", "bookmark.add": "bookmarks.add",
}


def playbook(directory: Path, *, update_every: str = "30m", ack_timeout: str = "5m") -> Path:
    """Critical groups open incidents commanded by UALICE, then UBOB, then UCAROL (the rotation
    starts in the future, so its first user is on call); no storm guard, no responders."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "chaos.yml").write_text(f"""
name: chaos
severities:
  - name: sev1
    description: critical
    update_every: {update_every}
    ack_timeout: {ack_timeout}
    stakeholder_channels: ["#incidents"]
  - {{name: sev2, description: major, update_every: 1h, ack_timeout: 15m}}
rotations:
  primary: {{users: [UALICE, UBOB, UCAROL], start: "2099-01-05T09:00", period: 1w, timezone: UTC}}
routes:
  - name: critical
    matchers: ['severity="critical"']
    severity: {{default: sev1}}
    commander: {{rotation: primary}}
  - name: rest
    auto_declare: false
    severity: {{default: sev2}}
""")
    return directory


def fanout_config(bot_urls: Sequence[str], token_file: Path) -> str:
    """One receiver with a webhook per replica: every group is delivered to each of them."""
    hooks = "".join(f"""
      - url: {url}/alertmanager
        send_resolved: true
        http_config: {{authorization: {{credentials_file: {token_file}}}}}""" for url in bot_urls)
    return f"""
route:
  receiver: bots
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: bots
    webhook_configs:{hooks}
"""


async def counter(url: str, name: str, **labels: str) -> float:
    """The sum of a counter's samples at ``url/metrics`` whose labels include ``labels`` (0 if absent)."""
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{url}/metrics")
    response.raise_for_status()
    total = 0.0
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == f"{name}_total" and labels.items() <= sample.labels.items():
                total += sample.value
    return total


@asynccontextmanager
async def running(*bots: BotProcess) -> AsyncIterator[None]:
    """Start the replicas; stop them with SIGTERM (SIGKILL after 25 s) without blocking the
    event loop, where the emulator answers the Slack calls they finish while stopping."""
    try:
        for bot in bots:
            await bot.start()
        yield
    finally:
        for bot in bots:
            if bot.process is not None and bot.process.poll() is None:
                code, _ = await terminate(bot, within=25)
                if code is None:
                    bot.kill()


def calls_in_channel(slack: SlackEmulator, channel: str) -> list[str]:
    """The write calls Slack carried out in ``channel`` (answers with an error included, as
    ``already_in_channel``; injected failures and reads left out), in the order received."""
    methods = []
    for call in slack.calls:
        if call.http_status != 200 or call.method in READS:
            continue
        if channel in (call.args.get("channel"), call.args.get("channel_id")):
            methods.append(call.method)
    return methods


def queued_calls(incident: Incident, actions: Sequence[OutboxAction]) -> list[str]:
    """The write calls the incident's queue asked for in ``incident``'s channel, in queue order.

    Left out: actions another one carried out (absorbed change lines, superseded header
    updates), the channel's creation, and posts to other channels (stakeholders).
    """
    methods = []
    for action in sorted(actions, key=lambda a: a.id):
        if action.ordering_key != f"incident:{incident.id}" or action.kind not in WRITE_CALL:
            continue
        result = action.result or {}
        if "absorbed_into" in result or "superseded_by" in result:
            continue
        methods.append(WRITE_CALL[action.kind])
    return methods
