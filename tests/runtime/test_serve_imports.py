"""What ``incident-bot serve`` loads before it is ready, in a fresh interpreter as an operator
starts it: Slack's Bolt and SDK, the web workspace's pages, Alembic, OpenTelemetry's SDK, the
PostgreSQL dialect and httpx are left for the first request (or the configuration) that needs them, so a
restart is ready sooner (bench/startup_time.py measures how much)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.cli import cli_env, run_cli

# Started as serve starts it: the command line's and serve's imports, the app, its start-up
# (database, outbox, scheduler), then one readiness probe. sys.modules is what was loaded.
READY_THEN_MODULES = """
import asyncio, json, sys
import aiohttp
import bot.cli.main
from bot.runtime.serve import create_app
from bot.settings import Settings
from aiohttp import web

async def main():
    runner = web.AppRunner(create_app(Settings()))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/readyz") as resp:
            ready = resp.status
    finally:
        await runner.cleanup()
    print(json.dumps({"readyz": ready, "modules": sorted(sys.modules)}))

asyncio.run(main())
"""

DEFERRED = [
    "slack_bolt",  # built on the first Slack request (bot/runtime/slack_events.py)
    "slack_sdk",  # the gateway's client is made with its first call (bot/slack/gateway.py)
    "bot.bolt.listeners",
    "bot.postmortem",  # the first draft rendered (bot/incident/drafts.py)
    "bot.web.guard",  # the first /ui/ request (bot/web/gate.py)
    "bot.web.render",
    "bot.web.incident_page",  # each page on its first request (bot/web/routes.py)
    "bot.web.postmortem_editor",
    "bot.web.insights",
    "markdown_it",
    "nh3",
    "itsdangerous",
    "joserfc",  # only with Sign in with Slack configured
    "cryptography",
    "alembic",  # only when a migration runs (storage/migrate.py)
    "mako",
    "opentelemetry.sdk",  # only with OTEL_EXPORTER_OTLP_*ENDPOINT set
    "sqlalchemy.dialects.postgresql",  # only on PostgreSQL
    "asyncpg",
    "playwright",  # the browser tests' own
    "httpx",  # with the first call to Alertmanager, Prometheus, PagerDuty, Grafana or a webhook (bot/adapters/peer.py)
]


# Without the web workspace (no SESSION_SECRET), the command service and the timeline editor
# wait for the first Slack request too (bot/runtime/services.py).
DEFERRED_WITHOUT_WORKSPACE = ["bot.incident.command_service", "bot.incident.timeline_editor", "bot.domain.commands"]


def modules_of_a_ready_bot(tmp_path: Path, **settings: str) -> list[str]:
    env = cli_env(tmp_path, SLACK_BOT_TOKEN="xoxb-imports", SLACK_SIGNING_SECRET="imports-signing-secret",
                  SLACK_API_URL="http://127.0.0.1:9/api/", LOG_LEVEL="WARNING", **settings)
    upgraded = run_cli(["db", "upgrade"], env, tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr

    started = subprocess.run([sys.executable, "-c", READY_THEN_MODULES], env=env, cwd=tmp_path, capture_output=True,
                             text=True, timeout=60, check=False)

    assert started.returncode == 0, started.stderr
    report = json.loads(started.stdout.splitlines()[-1])
    assert report["readyz"] == 200, started.stderr
    return list(report["modules"])


def loaded_of(names: list[str], modules: list[str]) -> list[str]:
    return [name for name in names if any(m == name or m.startswith(f"{name}.") for m in modules)]


def test_a_ready_bot_has_not_imported_what_its_first_requests_import(tmp_path: Path) -> None:
    modules = modules_of_a_ready_bot(tmp_path, SESSION_SECRET="a-session-secret-of-the-web-workspace")

    assert loaded_of(DEFERRED, modules) == []


def test_without_the_web_workspace_commands_wait_for_the_first_slack_request(tmp_path: Path) -> None:
    modules = modules_of_a_ready_bot(tmp_path)

    assert loaded_of(DEFERRED + DEFERRED_WITHOUT_WORKSPACE, modules) == []
