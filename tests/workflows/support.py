"""The strict fakes of PagerDuty, Grafana and a webhook receiver, and a playbook whose
workflow uses all of them, for the workflow tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import FIXTURES
from tests.fakes.grafana import FakeGrafana
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.webhook_receiver import WebhookReceiver

WORKFLOW_PLAYBOOKS = FIXTURES / "playbooks" / "workflows"
ROUTING_KEY = "R0UT1NGKEY0000000000000000000abc"  # an Events API v2 integration key is 32 characters
HOOK_SECRET = "hook-secret-8d2f"
GRAFANA_TOKEN = "glsa_test_token_51e0"


@dataclass
class Peers:
    pagerduty: FakePagerDuty
    grafana: FakeGrafana
    hooks: WebhookReceiver

    def settings(self) -> dict[str, Any]:
        return {"pagerduty_events_url": self.pagerduty.url, "grafana_url": self.grafana.url,
                "grafana_token": GRAFANA_TOKEN, "public_url": "https://incident-bot.example.com"}

    def environment(self) -> dict[str, str]:
        return {"TEST_PAGERDUTY_ROUTING_KEY": ROUTING_KEY, "TEST_HOOK_SECRET": HOOK_SECRET}


@asynccontextmanager
async def running_peers() -> AsyncIterator[Peers]:
    async with FakePagerDuty({ROUTING_KEY}) as pagerduty, FakeGrafana(GRAFANA_TOKEN) as grafana, \
            WebhookReceiver(HOOK_SECRET) as hooks:
        yield Peers(pagerduty, grafana, hooks)


def workflow_playbooks(tmp_path: Path, hooks_url: str) -> Path:
    directory = tmp_path / "playbooks"
    directory.mkdir(exist_ok=True)
    text = (WORKFLOW_PLAYBOOKS / "incidents.yml").read_text().replace("https://hooks.example.com/incidents", hooks_url)
    (directory / "incidents.yml").write_text(text)
    return directory
