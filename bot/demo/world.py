"""The demo's world: the real bot on a SQLite file, the console Slack, and the means to act
in it as Alertmanager and as people in Slack would, over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import SecretStr

from bot.clock import SkippingClock
from bot.demo import slack_requests
from bot.demo.console_signin import AUTHORIZE_PATH, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from bot.demo.console_slack import TEAM, Channel, ConsoleSlack
from bot.demo.transcript import Transcript
from bot.http.keys import DATABASE
from bot.runtime.app import create_app
from bot.settings import Settings
from bot.slack.mrkdwn_text import mrkdwn_to_text
from storage import alerting, outbox, queries, timers
from storage.database import Database

WEBHOOK_TOKEN = "demo-webhook-token"
SIGNING_SECRET = "demo-signing-secret"
BOT_TOKEN = "xoxb-demo-token"
QUIET = 0.3  # seconds with no Slack traffic, no pending outbox work and no due timer


class DemoFailed(Exception):
    """The bot did not do what the demo expects; names what is missing."""


class World:
    def __init__(self, clock: SkippingClock, transcript: Transcript, slack: ConsoleSlack, bot_url: str,
                 db: Database, session: aiohttp.ClientSession, settings: Settings) -> None:
        self.clock = clock
        self.transcript = transcript
        self.slack = slack
        self.bot_url = bot_url
        self.db = db
        self._http = session
        self.settings = settings
        self._triggers = itertools.count(1)
        self.incident_id: int | None = None  # the incident the story's alerts opened

    # -- acting -----------------------------------------------------------------------

    async def alertmanager_sends(self, payload: dict[str, Any]) -> dict[str, Any]:
        async with self._http.post(f"{self.bot_url}/alertmanager", json=payload,
                                   headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"}) as response:
            answer = await response.json()
            if response.status != 200:
                raise DemoFailed(f"the webhook answered {response.status}: {answer}")
        self.transcript.aside(f"the bot answered 200 once stored: {answer['outcome']}, incident #{answer['incident']}")
        if self.incident_id is None and answer.get("incident") is not None:
            self.incident_id = int(answer["incident"])
        await self.settle()
        return dict(answer)

    async def commander_of(self, incident_id: int) -> str:
        incident = await self.db.read(alerting.get_incident, incident_id)
        if incident is None or not incident.commander:
            raise DemoFailed(f"incident #{incident_id} has no commander")
        return str(incident.commander)

    async def slash(self, user: str, text: str, channel: Channel) -> None:
        name = self.slack.name_of(user)
        self.transcript.person(name, f"types in #{channel.name}: {self.settings.slash_command} {text}")
        body = slack_requests.slash_command_body(
            command=self.settings.slash_command, text=text, user=user, user_name=name, channel=channel.id,
            channel_name=channel.name, team=TEAM, response_url=self.slack.response_url(user),
            trigger_id=f"demo.{next(self._triggers)}")
        await self._to_slack_endpoint(user, body)

    async def click(self, user: str, button: str, channel: Channel) -> None:
        """Press a button on the pinned header, as Slack reports the click."""
        header = next((m for m in channel.messages if m.ts in channel.pins), None)
        element = _button(header.blocks if header else None, button)
        if header is None or element is None:
            raise DemoFailed(f"no [{button}] button on the pinned header of #{channel.name}")
        name = self.slack.name_of(user)
        self.transcript.person(name, f"presses [{button}] on the header")
        body = slack_requests.button_click_body(
            action_id=element["action_id"], value=element["value"], block_id=element["block_id"], user=user,
            user_name=name, channel=channel.id, channel_name=channel.name, message_ts=header.ts, team=TEAM,
            response_url=self.slack.response_url(user), trigger_id=f"demo.{next(self._triggers)}")
        await self._to_slack_endpoint(user, body)

    async def _to_slack_endpoint(self, user: str, body: str) -> None:
        headers = slack_requests.signed_headers(SIGNING_SECRET, body)
        async with self._http.post(f"{self.bot_url}/slack/events", data=body.encode(), headers=headers) as response:
            if response.status != 200:
                raise DemoFailed(f"/slack/events answered {response.status}: {await response.text()}")
            text = await response.text()
        if text:  # the acknowledgement itself carries the reply
            reply = json.loads(text).get("text", "")
            if reply:
                self.transcript.ephemeral(self.slack.name_of(user), mrkdwn_to_text(reply, self.slack.name_of))
        await self.settle()

    # -- time -------------------------------------------------------------------------

    def skip(self, delta_minutes: float, why: str = "") -> None:
        jumped = self.clock.skip_to(self.clock() + timedelta(minutes=delta_minutes))
        self.transcript.skip(f"{_describe(jumped.total_seconds())} later{': ' + why if why else ''}")

    async def skip_to_next_timer(self, why: str) -> None:
        due = await self.db.read(timers.next_due)
        if due is None:
            raise DemoFailed(f"nothing is scheduled, but the demo expected: {why}")
        jumped = self.clock.skip_to(due)
        self.transcript.skip(f"{_describe(jumped.total_seconds())} later: {why}")
        await self.settle()

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until the bot has nothing left to do now: the outbox is empty, no timer is
        due, and Slack has been quiet for a moment. Background work of a button click
        starts after its acknowledgement, so quiet must last, not just be seen once."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            if time.monotonic() - self.slack.last_activity < QUIET:
                continue
            # Timers first: a timer fires and enqueues its action in one commit, so a commit
            # landing between these reads is seen as either a due timer or pending work.
            due = await self.db.read(timers.next_due)
            pending, _ = await self.db.read(outbox.backlog, self.clock())
            if pending == 0 and (due is None or due > self.clock()) and \
                    time.monotonic() - self.slack.last_activity >= QUIET:
                return
        raise DemoFailed(f"the bot was still busy after {timeout:g} s")

    async def failed_actions(self) -> int:
        return (await self.db.read(queries.outbox_states)).get("failed", 0)


@asynccontextmanager
async def running_world(directory: Path, playbooks_dir: Path, transcript: Transcript,
                        clock: SkippingClock, users: dict[str, str], *,
                        web_port: int | None = None) -> AsyncIterator[World]:
    """The console Slack and the bot, each on a free port of 127.0.0.1; with ``web_port``, the
    bot on that port with its web workspace on, signing people in through the console Slack."""
    slack = ConsoleSlack(transcript, users, clock)
    slack_runner = web.AppRunner(slack.app(), access_log=None)
    await slack_runner.setup()
    bot_runner: web.AppRunner | None = None
    try:
        slack_site = web.TCPSite(slack_runner, "127.0.0.1", 0)
        await slack_site.start()
        slack.base_url = f"http://127.0.0.1:{_port(slack_runner)}/"
        settings = _settings(directory, playbooks_dir, slack.base_url, web_port)
        bot_runner = web.AppRunner(create_app(settings, clock=clock), access_log=None)
        await bot_runner.setup()
        bot_site = web.TCPSite(bot_runner, "127.0.0.1", web_port or 0)
        await bot_site.start()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
            yield World(clock, transcript, slack, f"http://127.0.0.1:{_port(bot_runner)}",
                        bot_runner.app[DATABASE], session, settings)
    finally:
        if bot_runner is not None:
            await bot_runner.cleanup()
        await slack_runner.cleanup()


def _settings(directory: Path, playbooks_dir: Path, slack_url: str, web_port: int | None) -> Settings:
    """Everything set here, so nothing in the caller's environment (a real token, say) leaks in."""
    database = directory / "incident-bot-demo.db"
    database.unlink(missing_ok=True)
    workspace: dict[str, Any] = {}
    if web_port is not None:  # the web workspace, signing in through the console Slack's stand-in
        workspace = {"public_url": f"http://127.0.0.1:{web_port}", "session_secret": SecretStr(secrets.token_hex(32)),
                     "slack_client_id": DEMO_CLIENT_ID, "slack_client_secret": SecretStr(DEMO_CLIENT_SECRET),
                     "slack_oidc_authorize_url": f"{slack_url.rstrip('/')}{AUTHORIZE_PATH}"}
    return Settings(
        database_url=f"sqlite+aiosqlite:///{database}", playbooks_dir=playbooks_dir, host="127.0.0.1", port=0,
        slack_bot_token=SecretStr(BOT_TOKEN), slack_signing_secret=SecretStr(SIGNING_SECRET), slack_app_token=None,
        slack_api_url=f"{slack_url}api/", alertmanager_webhook_token=SecretStr(WEBHOOK_TOKEN),
        alertmanager_webhook_user=None, alertmanager_webhook_password=None, alertmanager_url=None,
        prometheus_url=None, api_token=None, scheduler_tick_seconds=0.1, log_level="WARNING",
        slack_rate_limit_scale=20,  # Slack's per-minute limits pass as fast as the demo's clock
        **workspace,
    )


def _port(runner: web.AppRunner) -> int:
    """The port the runner's one site was bound to (port 0 asks the system for a free one)."""
    [address] = runner.addresses
    return int(address[1])


def _button(blocks: list[dict[str, Any]] | None, text: str) -> dict[str, Any] | None:
    for block in blocks or []:
        if block.get("type") != "actions":
            continue
        for element in block.get("elements", []):
            if element.get("text", {}).get("text") == text:
                return {**element, "block_id": block.get("block_id", "")}
    return None


def _describe(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}" if minutes else f"{int(seconds)} seconds"
