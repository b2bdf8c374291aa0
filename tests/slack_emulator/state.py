"""The emulated workspace: users, channels, messages, pins, bookmarks, files, triggers."""

from __future__ import annotations

import itertools
import mimetypes
import re
import time
from dataclasses import dataclass, field
from typing import Any

from .errors import SlackError

TS_PATTERN = re.compile(r"^\d{10}\.\d{6}$")
TRIGGER_LIFETIME = 3.0


@dataclass
class Message:
    """One channel message (top level or thread reply)."""

    ts: str
    user: str
    text: str
    bot_id: str | None = None
    app_id: str | None = None
    blocks: list[dict[str, Any]] | None = None
    attachments: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] | None = None
    thread_ts: str | None = None
    reply_broadcast: bool = False
    edited: dict[str, str] | None = None
    files: list[dict[str, Any]] | None = None
    reactions: dict[str, list[str]] = field(default_factory=dict)

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts


@dataclass
class Pin:
    ts: str
    created: int
    created_by: str


@dataclass
class Bookmark:
    id: str
    channel_id: str
    title: str
    link: str
    type: str
    emoji: str | None
    created: int
    created_by: str

    def to_api(self, team_id: str) -> dict[str, Any]:
        return {
            "id": self.id, "channel_id": self.channel_id, "title": self.title, "link": self.link,
            "emoji": self.emoji, "icon_url": None, "type": self.type, "entity_id": None,
            "date_created": self.created, "date_updated": 0, "rank": "a",
            "last_updated_by_user_id": self.created_by, "last_updated_by_team_id": team_id,
            "shortcut_id": None, "app_id": None,
        }


@dataclass
class Channel:
    """A public or private channel with its members, history, pins and bookmarks."""

    id: str
    name: str
    creator: str
    created: int
    is_private: bool = False
    is_general: bool = False
    is_archived: bool = False
    is_im: bool = False  # a direct message between the bot and one user (id D...)
    members: set[str] = field(default_factory=set)
    topic: dict[str, Any] = field(default_factory=lambda: {"value": "", "creator": "", "last_set": 0})
    purpose: dict[str, Any] = field(default_factory=lambda: {"value": "", "creator": "", "last_set": 0})
    messages: list[Message] = field(default_factory=list)
    pins: list[Pin] = field(default_factory=list)
    bookmarks: list[Bookmark] = field(default_factory=list)

    def message(self, ts: str) -> Message | None:
        return next((m for m in self.messages if m.ts == ts), None)


@dataclass
class File:
    """A files v2 upload: announced, then uploaded, then (maybe) shared."""

    id: str
    name: str
    length: int
    created: int
    title: str = ""
    content: bytes | None = None
    shared_to: list[str] = field(default_factory=list)


@dataclass
class Ephemeral:
    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]] | None
    ts: str


@dataclass(frozen=True)
class Person:
    """Someone who can sign in with Slack: a member of this workspace or of another one."""

    id: str
    name: str  # the handle, e.g. alice
    real_name: str
    email: str
    team_id: str
    team_name: str
    team_domain: str


@dataclass
class Trigger:
    issued_at: float
    used: bool = False


class Workspace:
    """All in-memory state. Method handlers read and change it; nothing else does I/O."""

    def __init__(
        self, *, team_id: str, bot_user_id: str, users: dict[str, str], team_domain: str = "incident-test",
        team_name: str = "Incident Test",
    ) -> None:
        self.team_id = team_id
        self.team_domain = team_domain
        self.team_name = team_name
        self.bot_user_id = bot_user_id
        self.bot_id = "B0000BOT01"
        self.app_id = "A0000APP01"
        self.bot_name = "incident-bot"
        self.base_url = ""
        self.users: dict[str, str] = {bot_user_id: self.bot_name, **users}
        self.deactivated: set[str] = set()  # users.info still finds them, with deleted: true
        self.emails: dict[str, str] = {}  # members whose email is not <name>@example.com
        self.real_names: dict[str, str] = {}  # members whose real name is not their name capitalised
        self.outsiders: dict[str, Person] = {}  # people of other workspaces: they can sign in, nothing else
        self.revoked_scopes: set[str] = set()  # scopes the app was installed without
        self.usergroups: dict[str, list[str]] = {}
        self.channels: dict[str, Channel] = {}
        self.files: dict[str, File] = {}
        self.ephemerals: list[Ephemeral] = []
        self.views: list[dict[str, Any]] = []
        self.canvases: dict[str, dict[str, Any]] = {}
        self.ims: dict[str, Channel] = {}  # the app's direct conversation with each user, by user id
        self.triggers: dict[str, Trigger] = {}
        self._ids = itertools.count(1)
        self._last_us = 0

    # identifiers

    def new_id(self, prefix: str) -> str:
        """A deterministic id: the prefix plus a workspace-wide sequence number."""
        return f"{prefix}{next(self._ids):08d}"

    def new_ts(self) -> str:
        """A message timestamp from the wall clock, strictly increasing and unique."""
        self._last_us = max(time.time_ns() // 1000, self._last_us + 1)
        return f"{self._last_us // 1_000_000}.{self._last_us % 1_000_000:06d}"

    def new_trigger_id(self) -> str:
        """A trigger id usable once, within 3 seconds, for views.open."""
        n = next(self._ids)
        trigger_id = f"{n}.{int(time.time())}.{n:032x}"
        self.triggers[trigger_id] = Trigger(issued_at=time.monotonic())
        return trigger_id

    # look-ups that raise Slack's errors

    def add_channel(
        self, name: str, *, creator: str, is_private: bool = False, members: set[str] | None = None
    ) -> Channel:
        channel = Channel(
            id=self.new_id("C"), name=name, creator=creator, created=int(time.time()),
            is_private=is_private, members=set(members or ()),
        )
        self.channels[channel.id] = channel
        return channel

    def direct_channel(self, user: str) -> Channel:
        """The bot's direct-message conversation with ``user`` (conversations.open)."""
        return self.im_with(user)

    def channel_named(self, name: str) -> Channel | None:
        return next((c for c in self.channels.values() if c.name == name), None)

    def visible_channel(self, ref: str | None, *, by_name: bool = False) -> Channel:
        """The channel for an id (or ``#name``/name when allowed) the bot can see.

        Private channels the bot is not in are invisible to it, as in Slack.
        """
        channel = self.channels.get(ref or "")
        if channel is None and by_name and ref:
            channel = self.channel_named(ref.removeprefix("#"))
        if channel is None or (channel.is_private and self.bot_user_id not in channel.members):
            raise SlackError("channel_not_found")
        return channel

    def im_with(self, user_id: str) -> Channel:
        """The app's direct conversation with a user (its Messages tab), opened on first use."""
        if user_id == self.bot_user_id or user_id not in self.users:
            raise SlackError("cannot_dm_bot" if user_id == self.bot_user_id else "channel_not_found")
        if user_id not in self.ims:
            channel = Channel(id=self.new_id("D"), name="", creator=user_id, created=int(time.time()),
                              is_private=True, is_im=True, members={user_id, self.bot_user_id})
            self.ims[user_id] = self.channels[channel.id] = channel
        return self.ims[user_id]

    def require_member(self, channel: Channel) -> None:
        if self.bot_user_id not in channel.members:
            raise SlackError("not_in_channel")

    def require_active(self, channel: Channel) -> None:
        if channel.is_archived:
            raise SlackError("is_archived")

    def message_at(self, channel: Channel, ts: str | None, *, missing: str = "message_not_found") -> Message:
        if not ts:
            raise SlackError(missing)
        if not TS_PATTERN.match(ts):
            raise SlackError("bad_timestamp" if missing == "no_item_specified" else missing)
        message = channel.message(ts)
        if message is None:
            raise SlackError("message_not_found")
        return message

    # people

    def email_of(self, user_id: str) -> str:
        return self.emails.get(user_id) or f"{self.users[user_id]}@example.com"

    def real_name_of(self, user_id: str) -> str:
        return self.real_names.get(user_id) or self.users[user_id].title()

    def person(self, user_id: str) -> Person | None:
        """An active person who can sign in (not the bot), of this workspace or another."""
        if user_id in self.outsiders:
            return self.outsiders[user_id]
        if user_id not in self.users or user_id == self.bot_user_id or user_id in self.deactivated:
            return None
        return Person(user_id, self.users[user_id], self.real_name_of(user_id), self.email_of(user_id),
                      self.team_id, self.team_name, self.team_domain)

    def people(self) -> list[Person]:
        """Everyone who can sign in: this workspace's members first, then other workspaces'."""
        members = [p for u in self.users if (p := self.person(u)) is not None]
        return members + list(self.outsiders.values())

    # serialisation

    def user_json(self, user_id: str) -> dict[str, Any]:
        name = self.users[user_id]
        is_bot = user_id == self.bot_user_id
        email = None if is_bot else self.email_of(user_id)
        real_name = name.title() if is_bot else self.real_name_of(user_id)
        return {
            "id": user_id, "team_id": self.team_id, "name": name, "real_name": real_name,
            "deleted": user_id in self.deactivated, "is_bot": is_bot, "is_admin": False, "tz": "UTC", "tz_offset": 0,
            "profile": {"real_name": real_name, "display_name": name, "email": email, "team": self.team_id},
        }

    def channel_json(self, channel: Channel, *, num_members: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": channel.id, "name": channel.name, "name_normalized": channel.name,
            "is_channel": not channel.is_im, "is_group": False, "is_im": channel.is_im, "is_mpim": False,
            "is_private": channel.is_private, "is_archived": channel.is_archived,
            "is_general": channel.is_general, "created": channel.created, "creator": channel.creator,
            "is_member": self.bot_user_id in channel.members, "is_shared": False, "is_ext_shared": False,
            "topic": dict(channel.topic), "purpose": dict(channel.purpose), "previous_names": [],
        }
        if num_members:
            data["num_members"] = len(channel.members)
        return data

    def message_json(self, channel: Channel, message: Message, *, metadata: bool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": "message", "ts": message.ts, "user": message.user, "text": message.text, "team": self.team_id,
        }
        if message.bot_id:
            data.update(bot_id=message.bot_id, app_id=message.app_id)
        if message.blocks is not None:
            data["blocks"] = message.blocks
        if message.attachments:
            data["attachments"] = message.attachments
        if message.files:
            data.update(files=message.files, upload=True)
        if message.thread_ts:
            data["thread_ts"] = message.thread_ts
        if message.is_reply and message.reply_broadcast:
            data["subtype"] = "thread_broadcast"
        replies = [m for m in channel.messages if m.is_reply and m.thread_ts == message.ts]
        if replies:
            data.update(
                reply_count=len(replies), reply_users=sorted({m.user for m in replies}),
                reply_users_count=len({m.user for m in replies}), latest_reply=replies[-1].ts,
            )
        if message.edited:
            data["edited"] = dict(message.edited)
        if message.reactions:
            data["reactions"] = [{"name": n, "users": list(u), "count": len(u)} for n, u in message.reactions.items()]
        if any(p.ts == message.ts for p in channel.pins):
            data["pinned_to"] = [channel.id]
        if metadata and message.metadata is not None:
            data["metadata"] = message.metadata
        return data

    def file_json(self, f: File) -> dict[str, Any]:
        return {
            "id": f.id, "created": f.created, "timestamp": f.created, "name": f.name, "title": f.title or f.name,
            "mimetype": _mimetype(f.name), "filetype": f.name.rsplit(".", 1)[-1] if "." in f.name else "text",
            "user": self.bot_user_id, "size": len(f.content or b""), "channels": list(f.shared_to),
            "url_private": f"{self.base_url}files/{f.id}/{f.name}",
            "permalink": f"https://{self.team_domain}.slack.com/files/{self.bot_user_id}/{f.id}/{f.name}",
        }


def _mimetype(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "text/plain"
