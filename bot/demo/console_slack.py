"""A console Slack for the demo: answers the Web API calls the bot makes over HTTP, keeps
the workspace state they imply, and tells the transcript what a person in Slack would see.

It is not an emulator of Slack's rules (the test suite has a strict one); it answers in
Slack's shapes so the real ``slack_sdk`` client and Bolt work against it unchanged.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.clock import Clock, utcnow
from bot.demo.console_signin import ConsoleSignIn
from bot.demo.transcript import Transcript
from bot.slack.mrkdwn_text import message_lines, mrkdwn_to_text

BOT_USER = "UINCIDENTBOT"
TEAM = "TDEMO"
TEAM_NAME = "Demo"


@dataclass
class Message:
    ts: str
    user: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    files: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"type": "message", "ts": self.ts, "user": self.user, "text": self.text}
        if self.blocks:
            found["blocks"] = self.blocks
        if self.files:
            found["files"] = self.files
        return found


@dataclass
class Channel:
    id: str
    name: str
    members: set[str] = field(default_factory=set)
    topic: str = ""
    messages: list[Message] = field(default_factory=list)
    pins: list[str] = field(default_factory=list)
    bookmarks: list[dict[str, str]] = field(default_factory=list)
    archived: bool = False


class SlackCallError(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class ConsoleSlack:
    """State plus one handler per Web API method; ``app()`` serves them under ``/api/``,
    and Sign in with Slack (``signin``) on the same origin."""

    def __init__(self, transcript: Transcript, users: dict[str, str], clock: Clock = utcnow) -> None:
        self.transcript = transcript
        self.users = dict(users)
        self.signin = ConsoleSignIn(transcript, self.users, clock, lambda: self.base_url, team=TEAM, team_name=TEAM_NAME)
        self.channels: dict[str, Channel] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, bytes] = {}
        self.base_url = ""  # set when the server is listening
        self.last_activity = time.monotonic()
        self._ids = itertools.count(1)
        self._ts = itertools.count(1)
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "conversations.create": self._create,
            "conversations.list": self._list,
            "conversations.join": self._join,
            "conversations.invite": self._invite,
            "conversations.setTopic": self._set_topic,
            "conversations.setPurpose": lambda args: {"purpose": args.get("purpose", "")},
            "conversations.history": self._history,
            "conversations.archive": self._archive,
            "chat.postMessage": self._post,
            "chat.update": self._update,
            "chat.getPermalink": self._permalink,
            "pins.add": self._pin,
            "bookmarks.add": self._bookmark,
            "bookmarks.list": lambda args: {"bookmarks": self._channel(args.get("channel_id")).bookmarks},
            "usergroups.users.list": lambda args: {"users": []},
            "users.info": self._user_info,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
        }

    def add_channel(self, name: str, members: set[str] | None = None) -> Channel:
        channel = Channel(id=f"C{next(self._ids):08d}", name=name, members=set(members or ()) | {BOT_USER})
        self.channels[channel.id] = channel
        return channel

    def name_of(self, slack_id: str) -> str:
        """A user's or channel's display name, for the transcript."""
        if slack_id in self.channels:
            return self.channels[slack_id].name
        return self.users.get(slack_id, "incident-bot" if slack_id == BOT_USER else slack_id)

    def channel_named(self, name: str) -> Channel | None:
        return next((c for c in self.channels.values() if c.name == name.lstrip("#")), None)

    def app(self) -> web.Application:
        app = web.Application()
        self.signin.add_routes(app)
        app.router.add_route("*", "/api/{method}", self._serve)  # slack_sdk GETs some methods
        app.router.add_post("/upload/{file_id}", self._receive_upload)
        app.router.add_post("/response/{user}/{n}", self._receive_response)
        return app

    def response_url(self, user: str) -> str:
        return f"{self.base_url}response/{user}/{next(self._ids)}"

    # -- HTTP --------------------------------------------------------------------

    async def _serve(self, request: web.Request) -> web.Response:
        self.last_activity = time.monotonic()
        method = request.match_info["method"]
        handler = self._methods.get(method)
        if handler is None:
            self.transcript.problem(f"the bot called {method}, which the console Slack does not know")
            return web.json_response({"ok": False, "error": "unknown_method"})
        try:
            return web.json_response({"ok": True, **handler(await _arguments(request))})
        except SlackCallError as exc:
            return web.json_response({"ok": False, "error": exc.error})

    async def _receive_response(self, request: web.Request) -> web.Response:
        """A reply through a command's ``response_url``: only the person who ran it sees it."""
        self.last_activity = time.monotonic()
        body = await request.json()
        text = str(body.get("text", "")) if isinstance(body, dict) else ""
        self.transcript.ephemeral(self.name_of(request.match_info["user"]), mrkdwn_to_text(text, self.name_of))
        return web.Response(text="ok")

    async def _receive_upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if file_id not in self.files:
            return web.Response(status=404, text="unknown upload")
        self.uploads[file_id] = await request.read()
        return web.Response(text="OK")

    # -- methods -------------------------------------------------------------------

    def _channel(self, channel_id: Any) -> Channel:
        channel = self.channels.get(str(channel_id))
        if channel is None:
            raise SlackCallError("channel_not_found")
        return channel

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"user_id": BOT_USER, "user": "incident-bot", "team_id": TEAM, "team": TEAM_NAME, "bot_id": "BDEMO",
                "url": "https://demo.slack.invalid/"}

    def _create(self, args: dict[str, Any]) -> dict[str, Any]:
        name = str(args.get("name", ""))
        if self.channel_named(name) is not None:
            raise SlackCallError("name_taken")
        channel = self.add_channel(name)
        self.transcript.channel_created(channel.name)
        return {"channel": {"id": channel.id, "name": channel.name, "is_channel": True}}

    def _list(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"channels": [{"id": c.id, "name": c.name, "is_member": BOT_USER in c.members,
                              "is_archived": c.archived} for c in self.channels.values()],
                "response_metadata": {"next_cursor": ""}}

    def _join(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        channel.members.add(BOT_USER)
        return {"channel": {"id": channel.id, "name": channel.name}}

    def _invite(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        users = [u for u in str(args.get("users", "")).split(",") if u and u not in channel.members]
        if not users:
            raise SlackCallError("already_in_channel")
        channel.members.update(users)
        self.transcript.joined(channel.name, [self.name_of(u) for u in users])
        return {"channel": {"id": channel.id, "name": channel.name}}

    def _set_topic(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        channel.topic = str(args.get("topic", ""))
        self.transcript.topic(channel.name, mrkdwn_to_text(channel.topic, self.name_of))
        return {"channel": {"id": channel.id, "topic": {"value": channel.topic}}}

    def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        latest = args.get("latest")
        messages = [m for m in channel.messages if latest is None or float(m.ts) <= float(latest)]
        limit = int(args.get("limit") or 100)
        return {"messages": [m.as_json() for m in reversed(messages)][:limit], "has_more": False}

    def _archive(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        if channel.archived:
            raise SlackCallError("already_archived")
        channel.archived = True
        self.transcript.archived(channel.name)
        return {}

    def _post(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        message = Message(ts=self._next_ts(), user=BOT_USER, text=str(args.get("text") or ""),
                          blocks=_json_list(args.get("blocks")))
        channel.messages.append(message)
        self.transcript.message(channel.name, message_lines(message.text, message.blocks, self.name_of))
        return {"channel": channel.id, "ts": message.ts, "message": message.as_json()}

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        message = next((m for m in channel.messages if m.ts == args.get("ts")), None)
        if message is None:
            raise SlackCallError("message_not_found")
        message.text = str(args.get("text") or message.text)
        message.blocks = _json_list(args.get("blocks")) or message.blocks
        self.transcript.message(channel.name, message_lines(message.text, message.blocks, self.name_of), edited=True)
        return {"channel": channel.id, "ts": message.ts}

    def _user_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("user", ""))
        if user not in self.users:
            raise SlackCallError("user_not_found")
        return {"user": {"id": user, "name": self.users[user], "deleted": False, "is_bot": False}}

    def _permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"permalink": f"https://demo.slack.invalid/archives/{args.get('channel')}/p{args.get('message_ts')}"}

    def _pin(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        timestamp = str(args.get("timestamp"))
        if timestamp in channel.pins:
            raise SlackCallError("already_pinned")
        channel.pins.append(timestamp)
        self.transcript.pinned(channel.name)
        return {}

    def _bookmark(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel_id"))
        bookmark = {"id": f"Bk{next(self._ids):08d}", "title": str(args.get("title", "")),
                    "link": str(args.get("link", ""))}
        channel.bookmarks.append(bookmark)
        self.transcript.bookmarked(channel.name, bookmark["title"], bookmark["link"])
        return {"bookmark": bookmark}

    def _upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{next(self._ids):08d}"
        self.files[file_id] = {"id": file_id, "name": str(args.get("filename", "")), "title": ""}
        return {"upload_url": f"{self.base_url}upload/{file_id}", "file_id": file_id}

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        entries = _json_list(args.get("files")) or []
        shared = []
        for entry in entries:
            info = self.files.get(str(entry.get("id")))
            if info is None or info["id"] not in self.uploads:
                raise SlackCallError("file_not_found")
            info["title"] = str(entry.get("title") or info["name"])
            shared.append(info)
        channel = self._channel(args.get("channel_id"))
        comment = str(args.get("initial_comment") or "")
        channel.messages.append(Message(ts=self._next_ts(), user=BOT_USER, text=comment, files=shared))
        for info in shared:
            self.transcript.file_shared(channel.name, info["name"], mrkdwn_to_text(comment, self.name_of),
                                        len(self.uploads[info["id"]]))
        return {"files": shared}

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    def uploaded(self, name: str) -> bytes | None:
        """The content of the last file shared under this name."""
        found = [fid for fid, info in self.files.items() if info["name"] == name and fid in self.uploads]
        return self.uploads[found[-1]] if found else None


async def _arguments(request: web.Request) -> dict[str, Any]:
    """slack_sdk sends a method's arguments as JSON, as a form, or in the query string."""
    found: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        found.update(body if isinstance(body, dict) else {})
    else:
        found.update(await request.post())
    return found


def _json_list(value: Any) -> list[dict[str, Any]] | None:
    """Slack takes blocks and file lists as JSON, or as a JSON string in a form."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    return value if isinstance(value, list) else None
