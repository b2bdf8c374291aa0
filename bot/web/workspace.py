"""What the workspace's pages work with, built once by the composition root."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.domain.links import incident_page_url
from bot.playbook import PlaybookSet
from storage.database import Database

if TYPE_CHECKING:
    from bot.incident.command_service import CommandService  # imported by whoever builds the workspace
    from bot.incident.timeline_editor import TimelineEditor
    from bot.slack.oidc import SlackSignIn  # joserfc: imported only with Sign in with Slack configured

NAME_CACHE_SECONDS = 600.0

TeamOf = Callable[[], Awaitable[str | None]]  # the bot's Slack team id, None when Slack cannot say
NameOf = Callable[[str], Awaitable[str | None]]  # a Slack user's display name, None when unknown


@dataclass(frozen=True, slots=True)
class WebSettings:
    public_url: str
    session_secret: str
    session_hours: float
    slash_command: str = "/incident"

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def redirect_uri(self) -> str:
        return f"{self.public_url}/ui/auth/callback"

    def incident_url(self, incident_id: int) -> str:
        return incident_page_url(self.public_url, incident_id)


@dataclass(slots=True)
class People:
    """Display names for Slack user ids, asked once and kept a while; the id when Slack
    cannot say, so a page never waits on Slack twice for the same person."""

    name_of: NameOf | None
    monotonic: Callable[[], float] = time.monotonic
    _known: dict[str, tuple[float, str]] = field(default_factory=dict)

    def remember(self, user_id: str, name: str) -> None:
        self._known[user_id] = (self.monotonic(), name)

    async def names(self, user_ids: set[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for user_id in sorted(user_ids):
            cached = self._known.get(user_id)
            if cached is not None and self.monotonic() - cached[0] < NAME_CACHE_SECONDS:
                found[user_id] = cached[1]
                continue
            name = await self.name_of(user_id) if self.name_of is not None else None
            found[user_id] = name or user_id
            self._known[user_id] = (self.monotonic(), found[user_id])
        return found


class Wakeups:
    """Wakes the live timelines of this process: ``notify`` after a commit here (they look
    sooner than their next poll; other replicas' commits reach them by the poll), ``close``
    when the server shuts down (they end, so shutdown does not wait on open pages)."""

    def __init__(self) -> None:
        self._waiting: set[asyncio.Event] = set()
        self.closed = False

    def notify(self) -> None:
        for event in self._waiting:
            event.set()

    def close(self) -> None:
        self.closed = True
        self.notify()

    def register(self) -> asyncio.Event:
        event = asyncio.Event()
        if self.closed:
            event.set()
        self._waiting.add(event)
        return event

    def unregister(self, event: asyncio.Event) -> None:
        self._waiting.discard(event)


@dataclass(frozen=True, slots=True)
class Workspace:
    db: Database
    playbooks: Callable[[], PlaybookSet]
    clock: Clock
    settings: WebSettings
    commands: CommandService
    editor: TimelineEditor
    on_commit: Callable[[], None]
    team_of: TeamOf
    people: People
    # None when SLACK_CLIENT_ID or SLACK_CLIENT_SECRET is unset; the sign-in page says so.
    signin: SlackSignIn | None = None
    wakeups: Wakeups = field(default_factory=Wakeups)
    playbooks_dir: Path = Path("playbooks")  # where playbooks' postmortem templates are
