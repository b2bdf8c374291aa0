"""The real bot with its web workspace on, wired to the strict Slack emulator, with an
incident opened by Alertmanager's webhook and browsers signed in as the emulator's people."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import httpx
from pydantic import SecretStr

from bot.clock import ManualClock
from storage.database import Database
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.bot import WEBHOOK_TOKEN, running_bot
from tests.support.payloads import captured
from tests.support.slack import SLACK_PLAYBOOKS, eventually, slack_settings
from tests.support.web_session import SESSION_SECRET, signed_in

HOOK = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}
WORKING = "Working on it…"  # the acknowledgement of a command past its 2 s budget


class WebBot:
    def __init__(self, slack: SlackEmulator, db: Database, url: str, clock: ManualClock) -> None:
        self.slack, self.db, self.url, self.clock = slack, db, url, clock
        self.channel = self.commander = ""

    async def open_incident(self) -> None:
        async with httpx.AsyncClient() as client:
            response = await client.post(f"{self.url}/alertmanager", content=captured("1-firing"), headers=HOOK)
            assert response.status_code == 200
        await self.delivered()
        [incident] = await rows.incidents(self.db)
        assert incident.channel_id and incident.commander
        self.channel, self.commander = incident.channel_id, incident.commander

    def bystander(self) -> str:
        """Someone of the workspace who is neither the commander nor a responder."""
        return next(u for u in ("UALICE", "UBOB", "UCAROL") if u != self.commander)

    async def command(self, text: str, user: str | None = None, channel: str | None = None) -> str:
        """The command's answer as its user sees it: the acknowledgement's, or, when the
        command outgrew the bot's 2 s budget (a loaded machine), what it posted afterwards
        through the response URL."""
        user, channel = user or self.commander, channel or self.channel
        before = len(self.slack.ephemerals(channel))
        response = await self.slack.slash_command(f"{self.url}/slack/events", text=text, user_id=user,
                                                  channel_id=channel)
        assert response.status_code == 200, response.text
        reply = str((response.json() if response.content else {}).get("text", ""))
        if reply != WORKING:
            return reply

        def late() -> list[str]:
            return [e.text for e in self.slack.ephemerals(channel)[before:] if e.user == user]

        async def answered() -> bool:
            return bool(late())

        await eventually(answered, what=f"the late answer to {text!r}")
        return late()[0]

    async def delivered(self) -> None:
        async def done() -> bool:
            return all(o.state != "pending" for o in await rows.outbox(self.db))
        await eventually(done, what="outbox delivered")

    @asynccontextmanager
    async def browser(self, user: str, name: str = "") -> AsyncIterator[Browser]:
        session = await signed_in(self.db, user_id=user, team_id=self.slack.workspace.team_id,
                                  name=name or self.slack.workspace.users.get(user, user), now=self.clock(),
                                  hours=24 * 60)
        async with httpx.AsyncClient(base_url=self.url, cookies=session.cookies, follow_redirects=False) as client:
            yield Browser(client, session.csrf_token)


class Browser:
    """A signed-in person's browser: GETs, and form POSTs that carry the page's CSRF token."""

    def __init__(self, client: httpx.AsyncClient, csrf_token: str) -> None:
        self.client, self.csrf_token = client, csrf_token

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(path)

    async def post(self, path: str, data: dict[str, str | list[str]] | None = None, *, csrf: bool = True,
                   headers: dict[str, str] | None = None) -> httpx.Response:
        """A form POST (a list value: that field repeated, in order)."""
        fields = {**(data or {}), **({"csrf_token": self.csrf_token} if csrf else {})}
        return await self.client.post(path, data=fields, headers=headers)

    async def follow(self, response: httpx.Response) -> httpx.Response:
        """The page a POST's 303 leads to, with its one-time notice."""
        assert response.status_code == 303, (response.status_code, response.text[:500])
        return await self.client.get(response.headers["Location"])


def playbooks_with_postmortems(tmp_path: Path) -> Path:
    """The Slack tests' playbook with a postmortem due 72 h after a SEV1 resolves."""
    text = (SLACK_PLAYBOOKS / "incidents.yml").read_text()
    old = 'ack_timeout: 5m, stakeholder_channels: ["#incidents"]}'
    assert old in text
    directory = tmp_path / "playbooks"
    directory.mkdir()
    (directory / "incidents.yml").write_text(
        text.replace(old, 'ack_timeout: 5m, stakeholder_channels: ["#incidents"], postmortem_due: 72h}'))
    return directory


@asynccontextmanager
async def web_bot(database_url: str, slack: SlackEmulator, db: Database, playbooks: Path = SLACK_PLAYBOOKS,
                  **settings: object) -> AsyncIterator[WebBot]:
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    values = slack_settings(database_url, slack, playbooks, session_secret=SecretStr(SESSION_SECRET),
                            scheduler_tick_seconds=0.2, **settings)
    async with running_bot(values, clock=clock) as url:
        bot = WebBot(slack, db, url, clock)
        await bot.open_incident()
        yield bot


class _Page(HTMLParser):
    """What a browser would read and send from a page: forms' fields (a textarea's first
    line break dropped, as HTML parsers do), table rows' classes and cells, the notice."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, list[tuple[str, str]]]] = []
        self.rows: list[tuple[str, list[str]]] = []
        self.notices: list[str] = []
        self.headings: list[str] = []
        self._heading: list[str] | None = None
        self._textarea: tuple[str, list[str]] | None = None
        self._cell: list[str] | None = None
        self._notice: list[str] | None = None
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((a.get("action", ""), []))
        elif tag == "input" and self.forms and a.get("type") != "submit" and a.get("name"):
            self.forms[-1][1].append((a["name"], a.get("value", "")))
        elif tag == "textarea" and a.get("name"):
            self._textarea = (a["name"], [])
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.append((a.get("class", ""), []))
        elif tag == "td" and self._in_body:
            self._cell = []
        elif tag == "p" and "notice" in a.get("class", "").split():
            self._notice = []
        elif tag in ("h1", "h2"):
            self._heading = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea is not None:
            text = "".join(self._textarea[1])
            self.forms[-1][1].append((self._textarea[0], text[1:] if text.startswith("\n") else text))
            self._textarea = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "td" and self._cell is not None:
            self.rows[-1][1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "p" and self._notice is not None:
            self.notices.append("".join(self._notice).strip())
            self._notice = None
        elif tag in ("h1", "h2") and self._heading is not None:
            self.headings.append(" ".join("".join(self._heading).split()))
            self._heading = None

    def handle_data(self, data: str) -> None:
        for sink in (self._textarea[1] if self._textarea else None, self._cell, self._notice, self._heading):
            if sink is not None:
                sink.append(data)


def read_page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def form_fields(html: str, action: str) -> dict[str, list[str]]:
    """The fields the page's form posting to ``action`` sends, each name's values in order."""
    [fields] = [f for a, f in read_page(html).forms if a == action]
    found: dict[str, list[str]] = {}
    for name, value in fields:
        found.setdefault(name, []).append(value)
    return found


def notice(html: str) -> str | None:
    notices = read_page(html).notices
    return notices[0] if notices else None
