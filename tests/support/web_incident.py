"""The running bot with its web workspace, wired to the Slack emulator, for the incident
page's HTTP tests: signed-in browsers, an incident from a real webhook, notes added as a
Slack command adds them, and a reader of server-sent events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from pydantic import SecretStr

from bot.clock import ManualClock
from bot.domain import commands as p
from bot.incident.command_service import CommandService, Context
from bot.playbook import PlaybookSet, load_playbooks
from bot.runtime.app import create_app
from bot.web.keys import WORKSPACE
from storage import alerting
from storage.database import Database
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.bot import WEBHOOK_TOKEN, free_port
from tests.support.slack import SLACK_PLAYBOOKS, eventually, slack_settings
from tests.support.web_session import SESSION_SECRET, signed_in

NOW = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
HOOK = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}


@dataclass
class WebBot:
    url: str
    app: web.Application
    runner: web.AppRunner
    db: Database
    slack: SlackEmulator
    clock: ManualClock
    playbooks: PlaybookSet

    @asynccontextmanager
    async def browser(self, user_id: str, name: str = "Alex Doe") -> AsyncIterator[httpx.AsyncClient]:
        """A client signed in as ``user_id`` of the emulator's workspace, with its CSRF token
        in ``client.headers``-free form: ``client.csrf``."""
        session = await signed_in(self.db, user_id=user_id, team_id=self.slack.workspace.team_id, name=name,
                                  now=self.clock())
        async with httpx.AsyncClient(base_url=self.url, cookies=session.cookies, timeout=20) as client:
            client.csrf = session.csrf_token  # type: ignore[attr-defined]
            yield client

    def commands(self) -> CommandService:
        return CommandService(self.db, lambda: self.playbooks, self.clock, lambda: None)

    async def run(self, incident_id: int, text: str, user: str) -> str:
        """``/incident <text>`` typed by ``user`` in the incident's channel, as Slack sends it
        (``<@U1>`` for a mention, ``&lt;`` for a ``<`` typed); the reply."""
        incident = await self.db.read(alerting.get_incident, incident_id)
        assert incident is not None and incident.channel_id
        service = self.commands()
        command = p.parse_command(text, service.severities())
        return (await service.execute(command, Context(user, incident.channel_id, text=text))).text

    async def note(self, incident_id: int, text: str, user: str) -> None:
        assert await self.run(incident_id, f"note {text}", user) == "Noted on the timeline."

    async def open_incident(self, payload: bytes) -> int:
        """Alertmanager's webhook opens the incident; returns its id once its channel exists."""
        async with httpx.AsyncClient() as client:
            response = await client.post(f"{self.url}/alertmanager", content=payload, headers=HOOK)
        assert response.status_code == 200, response.text
        incident_id = int(response.json()["incident"])

        async def channel() -> bool:
            row = await self.db.read(alerting.get_incident, incident_id)
            return row is not None and bool(row.channel_id)
        await eventually(channel, what="the incident channel")
        await self.delivered()
        return incident_id

    async def delivered(self) -> None:
        """Until the outbox has done what it had to (so no late event lands on the timeline)."""
        async def done() -> bool:
            return all(o.state != "pending" for o in await rows.outbox(self.db))
        await eventually(done, what="outbox delivered")


@asynccontextmanager
async def web_bot(database_url: str, slack: SlackEmulator, playbooks_dir: Path = SLACK_PLAYBOOKS,
                  **settings: Any) -> AsyncIterator[WebBot]:
    clock = ManualClock(NOW)
    playbooks = load_playbooks(playbooks_dir)
    config = slack_settings(database_url, slack, playbooks_dir, session_secret=SecretStr(SESSION_SECRET), **settings)
    app = create_app(config, playbooks=playbooks, clock=clock)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    db = Database(database_url)
    try:
        assert app.get(WORKSPACE) is not None
        yield WebBot(f"http://127.0.0.1:{port}", app, runner, db, slack, clock, playbooks)
    finally:
        if runner.server is not None:  # a test may have shut the bot down already
            await runner.cleanup()
        await db.dispose()


@dataclass(frozen=True)
class SentEvent:
    kind: str
    id: str | None
    data: str


class EventReader:
    """Reads server-sent events off an open stream, one by one as they come."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()

    async def next(self, count: int, timeout: float = 10.0, kinds: tuple[str, ...] = ("entry",)) -> list[SentEvent]:
        """The next ``count`` events of these kinds (others are passed over)."""
        found: list[SentEvent] = []
        fields: dict[str, list[str]] = {}
        async with asyncio.timeout(timeout):
            while len(found) < count:
                line = await anext(self._lines)
                if line == "":
                    if "event" in fields and fields["event"][0] in kinds:
                        found.append(SentEvent(fields["event"][0], (fields.get("id") or [None])[0],
                                               "\n".join(fields.get("data", []))))
                    fields = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(":")
                    fields.setdefault(name, []).append(value[1:] if value.startswith(" ") else value)
        return found

    async def line(self) -> str:
        return await anext(self._lines)

    async def rest(self) -> list[str]:
        return [line async for line in self._lines]


def with_postmortems(directory: Path) -> Path:
    """The Slack tests' playbook, where a SEV1 needs a postmortem three days after it resolves."""
    text = (SLACK_PLAYBOOKS / "incidents.yml").read_text()
    marker = 'stakeholder_channels: ["#incidents"]}'
    assert marker in text
    (directory / "incidents.yml").write_text(text.replace(marker, marker[:-1] + ", postmortem_due: 72h}"))
    return directory


def hostile_group() -> bytes:
    """A firing group whose label and annotation hold markup and script."""
    from tests.support.payloads import group

    payload = group("CheckoutErrors", alerts=1, extra_labels={"team": "<script>alert(1)</script>"})
    alert = payload["alerts"][0]
    alert["annotations"]["description"] = "<img src=x onerror=alert(1)>"
    alert["annotations"]["runbook_url"] = "javascript:alert(1)"
    return json.dumps(payload).encode()
