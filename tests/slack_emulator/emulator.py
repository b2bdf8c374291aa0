"""``SlackEmulator``: a strict, in-memory Slack workspace behind a real HTTP server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from aiohttp import web

from .faults import Faults
from .methods_chat import Content, check_blocks, post
from .openid import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REDIRECT_URL, OidcClient, OpenIdProvider, Redirect
from .outbound import BotSender, Delivery, SignatureMode
from .outbound import signature as sign_body
from .payloads import (
    block_action_payload,
    complete_interaction,
    ephemeral_action_payload,
    event_envelope,
    message_shortcut_payload,
    slash_command_fields,
)
from .ratelimit import Limit, RateLimiter, build_limits
from .recording import Call, longest_run_of_429
from .responses import ResponseUrls
from .server import ApiServer
from .signin_page import AUTHORIZE_PATH
from .socket_mode import SocketModeServer
from .state import Bookmark, Channel, Ephemeral, Message, Person, Workspace

DEFAULT_USERS = {"UALICE": "alice", "UBOB": "bob", "UCAROL": "carol"}


class SlackEmulator:
    """A Slack Web API at ``api_url`` for ``AsyncWebClient(token, base_url=emu.api_url)``.

    The workspace starts with the bot user, ``users`` and a ``general`` channel that
    every user but the bot belongs to. Rate-limit windows are divided by
    ``rate_limit_scale`` (10 turns a 60 s window into 6 s). ``clock`` (aware datetimes,
    default the system's) dates Sign in with Slack's codes and id_tokens.
    """

    def __init__(
        self,
        *,
        token: str = "xoxb-test",
        signing_secret: str = "test-signing-secret",
        users: Mapping[str, str] | None = None,
        usergroups: Mapping[str, Iterable[str]] | None = None,
        rate_limit_scale: float = 1.0,
        team_id: str = "T0001",
        bot_user_id: str = "UBOT",
        host: str = "127.0.0.1",
        app_token: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.socket_mode = SocketModeServer(app_token)
        if rate_limit_scale <= 0:
            raise ValueError("rate_limit_scale must be positive")
        self.token = token
        self.signing_secret = signing_secret
        self.rate_limit_scale = rate_limit_scale
        self.workspace = Workspace(team_id=team_id, bot_user_id=bot_user_id, users=dict(users or DEFAULT_USERS))
        self.workspace.usergroups = {k: list(v) for k, v in (usergroups or {}).items()}
        people = set(self.workspace.users) - {bot_user_id}
        general = self.workspace.add_channel("general", creator=min(people, default="UADMIN"), members=people)
        general.is_general = True
        self.limits: dict[str, tuple[Limit, ...]] = build_limits(rate_limit_scale)
        self.faults = Faults()
        self.calls: list[Call] = []
        self.responses_store = ResponseUrls(self.workspace)
        self.openid = OpenIdProvider(self.workspace, clock or (lambda: datetime.now(UTC)))
        self._limiter = RateLimiter(self.limits)
        self._sender = BotSender(signing_secret)
        self._host = host
        self._runner: web.AppRunner | None = None
        self._url = ""

    # lifecycle

    async def start(self) -> None:
        """Serve on a free port of ``host``."""
        server = ApiServer(ws=self.workspace, token=self.token, faults=self.faults, limiter=self._limiter,
                           responses=self.responses_store, calls=self.calls, openid=self.openid,
                           socket_mode=self.socket_mode)
        self._runner = web.AppRunner(server.app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, 0).start()
        host, port = self._runner.addresses[0][:2]
        self._url = f"http://{host}:{port}/"
        self.workspace.base_url = self._url

    async def stop(self) -> None:
        """Stop serving and close the client used to reach the bot."""
        await self.socket_mode.close()
        await self._sender.aclose()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SlackEmulator:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """The server root, ending with ``/``."""
        if not self._url:
            raise RuntimeError("SlackEmulator is not started")
        return self._url

    @property
    def api_url(self) -> str:
        """The Web API base URL for slack_sdk, ending with ``/api/``."""
        return f"{self.url}api/"

    @property
    def oidc_issuer(self) -> str:
        """The id_token's ``iss``: the emulator's origin, e.g. ``http://127.0.0.1:PORT``."""
        return self.openid.issuer

    @property
    def oidc_authorize_url(self) -> str:
        """Where Sign in with Slack starts (``SLACK_OIDC_AUTHORIZE_URL``)."""
        return f"{self.url.rstrip('/')}{AUTHORIZE_PATH}"

    @property
    def oidc_keys_url(self) -> str:
        """The JWKS that verifies id_tokens."""
        return f"{self.url}openid/connect/keys"

    # recorded calls

    def calls_to(self, method: str) -> list[Call]:
        """The recorded calls to ``method``, oldest first."""
        return [c for c in self.calls if c.method == method]

    def max_consecutive_429(self, method: str | None = None) -> int:
        """Longest run of consecutive 429 answers among calls to ``method`` (all calls if None)."""
        return longest_run_of_429(self.calls_to(method) if method else self.calls)

    def reset_calls(self) -> None:
        """Forget recorded calls (state, rate-limit counters and faults are kept)."""
        self.calls.clear()

    def reset_rate_limits(self) -> None:
        """Forget every call counted toward a rate limit."""
        self._limiter.reset()

    # workspace state

    def channel(self, channel_id: str) -> Channel:
        """The channel with this id (KeyError if none)."""
        return self.workspace.channels[channel_id]

    def channel_by_name(self, name: str) -> Channel | None:
        """The channel with this name, archived or not."""
        return self.workspace.channel_named(name.removeprefix("#"))

    def messages(self, channel_id: str) -> list[Message]:
        """Every message of the channel, thread replies included, oldest first."""
        return list(self.channel(channel_id).messages)

    def direct_messages(self, user_id: str) -> list[Message]:
        """Messages the app sent to this user's direct conversation with it, oldest first."""
        im = self.workspace.ims.get(user_id)
        return list(im.messages) if im is not None else []

    @property
    def canvases(self) -> dict[str, dict[str, Any]]:
        """Canvases created with canvases.create, by id: title, document_content, channel_id."""
        return dict(self.workspace.canvases)

    def pins(self, channel_id: str) -> list[Message]:
        """The pinned messages of the channel, in pinning order."""
        channel = self.channel(channel_id)
        return [m for p in channel.pins if (m := channel.message(p.ts)) is not None]

    def bookmarks(self, channel_id: str) -> list[Bookmark]:
        """The channel's bookmarks, in creation order."""
        return list(self.channel(channel_id).bookmarks)

    def ephemerals(self, channel_id: str | None = None) -> list[Ephemeral]:
        """Ephemeral messages (chat.postEphemeral and ephemeral responses), optionally for one channel."""
        return [e for e in self.workspace.ephemerals if channel_id in (None, e.channel)]

    @property
    def views(self) -> list[dict[str, Any]]:
        """Views opened with views.open, oldest first."""
        return list(self.workspace.views)

    def file_content(self, file_id: str) -> bytes | None:
        """The bytes uploaded for ``file_id`` (None before the upload)."""
        return self.workspace.files[file_id].content

    # seeding

    def add_user(self, user_id: str, name: str, *, email: str | None = None, real_name: str | None = None,
                 team: str | None = None, team_name: str | None = None) -> None:
        """Add a workspace member (email ``<name>@example.com``, real name ``Name``); with another
        ``team``, someone of that workspace, who can sign in with Slack but is unknown here."""
        ws = self.workspace
        if team is None or team == ws.team_id:
            ws.users[user_id] = name
            ws.emails.pop(user_id, None)
            ws.real_names.pop(user_id, None)
            if email:
                ws.emails[user_id] = email
            if real_name:
                ws.real_names[user_id] = real_name
            return
        label = team_name or f"Team {team}"
        ws.outsiders[user_id] = Person(user_id, name, real_name or name.title(), email or f"{name}@example.com",
                                       team, label, label.lower().replace(" ", "-"))

    def register_oidc_client(self, client_id: str = DEFAULT_CLIENT_ID, client_secret: str = DEFAULT_CLIENT_SECRET,
                             redirect_urls: Iterable[str] = (DEFAULT_REDIRECT_URL,), *,
                             name: str = "incident-bot") -> OidcClient:
        """Give an app Sign in with Slack: its credentials and its OAuth settings' Redirect URLs."""
        client = OidcClient(client_id, client_secret, tuple(redirect_urls), name)
        self.openid.register(client)
        return client

    def oidc_authorize(self, user_id: str, *, client_id: str = DEFAULT_CLIENT_ID, redirect_uri: str | None = None,
                       scope: str = "openid profile email", state: str = "emulator-state",
                       nonce: str | None = None) -> str:
        """The code the app would receive after ``user_id`` signed in on the authorize page
        (``redirect_uri`` defaults to the client's first); ValueError if Slack would refuse."""
        client = self.openid.clients.get(client_id)
        params = {"response_type": "code", "client_id": client_id, "scope": scope, "state": state,
                  "redirect_uri": redirect_uri or (client.redirect_urls[0] if client else ""), "nonce": nonce or ""}
        outcome = self.openid.authorize(list(params.items()))
        if not isinstance(outcome, Redirect):
            outcome = self.openid.decide(outcome.id, user_id)
        found = parse_qs(urlsplit(outcome.url).query)
        if "code" not in found:
            raise ValueError(f"Slack would send the person back with {found}")
        return found["code"][0]

    def deactivate_user(self, user_id: str) -> None:
        """Deactivate a member: users.info still answers, with ``deleted: true``."""
        if user_id not in self.workspace.users:
            raise KeyError(user_id)
        self.workspace.deactivated.add(user_id)

    def revoke_scope(self, scope: str) -> None:
        """As if the app had been installed without ``scope``: calls needing it get ``missing_scope``."""
        self.workspace.revoked_scopes.add(scope)

    def add_usergroup(self, usergroup_id: str, members: Iterable[str]) -> None:
        """Add or replace a user group."""
        self.workspace.usergroups[usergroup_id] = list(members)

    def seed_channel(self, name: str, *, members: Iterable[str] = (), is_private: bool = False) -> Channel:
        """A channel created by someone else; the bot is a member only if listed in ``members``."""
        people = set(members)
        creator = min(people - {self.workspace.bot_user_id}, default="UADMIN")
        return self.workspace.add_channel(name, creator=creator, is_private=is_private, members=people)

    def post_as_user(self, channel_id: str, user_id: str, text: str, *, thread_ts: str | None = None) -> Message:
        """A message written by a person (not through the API)."""
        return post(self.workspace, self.channel(channel_id), user=user_id,
                    content=Content(text, None, None, None, []), thread_ts=thread_ts)

    def new_trigger_id(self) -> str:
        """A fresh trigger id for views.open (valid once, for 3 seconds)."""
        return self.workspace.new_trigger_id()

    def new_response_url(self, *, channel_id: str | None = None, user_id: str | None = None,
                         message_ts: str | None = None) -> str:
        """A fresh response URL bound to this context."""
        return self.responses_store.issue(channel_id=channel_id, user_id=user_id, message_ts=message_ts)

    # requests to the bot

    @property
    def deliveries(self) -> list[Delivery]:
        """Every request sent to the bot, oldest first."""
        return self._sender.deliveries

    def sign(self, body: bytes, timestamp: int) -> str:
        """The ``X-Slack-Signature`` value for ``body`` at ``timestamp``."""
        return sign_body(self.signing_secret, timestamp, body)

    async def slash_command(self, bot_url: str, *, command: str = "/incident", text: str = "",
                            user_id: str | None = None, channel_id: str | None = None,
                            signature: SignatureMode = "valid", **extra: str) -> httpx.Response:
        """POST a signed slash command; defaults: the first user, in ``general``."""
        fields = slash_command_fields(
            self.workspace, self.responses_store, command=command, text=text,
            user_id=user_id or self._first_user(), channel_id=channel_id or self._general_id(), extra=extra,
        )
        return await self._sender.send_form("slash_command", bot_url, fields, signature)

    async def slash_command_seen(self, bot_url: str, *, text: str, user_id: str, channel_id: str,
                                 command: str = "/incident") -> Ephemeral:
        """Run a slash command and return what its user sees: the acknowledgement's answer,
        shown as an ephemeral message, its blocks checked as Slack checks them."""
        response = await self.slash_command(bot_url, command=command, text=text, user_id=user_id,
                                            channel_id=channel_id)
        response.raise_for_status()
        body = response.json() if response.content else {}
        ephemeral = Ephemeral(channel_id, user_id, str(body.get("text") or ""), check_blocks(body.get("blocks")),
                              self.workspace.new_ts())
        self.workspace.ephemerals.append(ephemeral)
        return ephemeral

    async def choose(self, bot_url: str, ephemeral: Ephemeral, *, action_id: str, value: str | None = None,
                     signature: SignatureMode = "valid") -> httpx.Response:
        """Use an element of an ephemeral message as its user: click a button, or pick the
        option whose value is ``value`` in a menu (an overflow, say)."""
        payload = ephemeral_action_payload(self.workspace, ephemeral, action_id=action_id, value=value,
                                           user_id=ephemeral.user)
        return await self.interaction(bot_url, payload, signature=signature)

    async def socket_slash_command(self, *, command: str = "/incident", text: str = "", user_id: str | None = None,
                                   channel_id: str | None = None) -> dict[str, Any]:
        """Send a slash command over Socket Mode; returns the app's acknowledgement."""
        fields = slash_command_fields(
            self.workspace, self.responses_store, command=command, text=text,
            user_id=user_id or self._first_user(), channel_id=channel_id or self._general_id(), extra={},
        )
        return await self.socket_mode.send("slash_commands", fields)

    async def interaction(self, bot_url: str, payload: dict[str, Any], *,
                          signature: SignatureMode = "valid") -> httpx.Response:
        """POST a signed interaction (form field ``payload``), completing the usual fields."""
        full = complete_interaction(self.workspace, self.responses_store, payload)
        return await self._sender.send_form("interaction", bot_url, {"payload": json.dumps(full)}, signature)

    async def click(self, bot_url: str, *, channel_id: str, message_ts: str, action_id: str,
                    user_id: str | None = None, value: str | None = None,
                    signature: SignatureMode = "valid") -> httpx.Response:
        """Click the element ``action_id`` of a stored message, as ``user_id``."""
        payload = block_action_payload(self.workspace, channel_id=channel_id, message_ts=message_ts,
                                       action_id=action_id, user_id=user_id or self._first_user(), value=value)
        return await self.interaction(bot_url, payload, signature=signature)

    async def message_shortcut(self, bot_url: str, *, callback_id: str, channel_id: str, message_ts: str,
                               user_id: str | None = None, signature: SignatureMode = "valid") -> httpx.Response:
        """Choose the app's message shortcut ``callback_id`` on a stored message, as ``user_id``;
        Slack adds a trigger id and a response URL bound to the message."""
        payload = message_shortcut_payload(self.workspace, callback_id=callback_id, channel_id=channel_id,
                                           message_ts=message_ts, user_id=user_id or self._first_user())
        return await self.interaction(bot_url, payload, signature=signature)

    async def submit_view(self, bot_url: str, view: dict[str, Any], values: dict[str, dict[str, Any]], *,
                          user_id: str | None = None, signature: SignatureMode = "valid") -> httpx.Response:
        """Submit an opened modal with ``values`` as its state (block id -> action id -> element state)."""
        user = user_id or self._first_user()
        submitted = {**view, "state": {"values": values}}
        payload = {"type": "view_submission", "user": {"id": user, "username": self.workspace.users.get(user, ""),
                                                       "name": self.workspace.users.get(user, ""),
                                                       "team_id": self.workspace.team_id},
                   "view": submitted}
        return await self.interaction(bot_url, payload, signature=signature)

    async def event(self, bot_url: str, event: dict[str, Any], *, event_id: str | None = None,
                    retry_num: int | None = None, retry_reason: str | None = None,
                    signature: SignatureMode = "valid") -> httpx.Response:
        """POST a signed ``event_callback``; a retry carries ``X-Slack-Retry-Num``/``-Reason``."""
        envelope = event_envelope(self.workspace, event, event_id or self.workspace.new_id("Ev"))
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason or "http_timeout"}
        return await self._sender.send_json("event", bot_url, envelope, signature, headers)

    async def url_verification(self, bot_url: str, challenge: str = "challenge-token",
                               *, signature: SignatureMode = "valid") -> httpx.Response:
        """POST the Events API ``url_verification`` handshake."""
        body = {"token": "verification-token", "challenge": challenge, "type": "url_verification"}
        return await self._sender.send_json("url_verification", bot_url, body, signature)

    def responses(self, response_id: str | None = None) -> list[Any]:
        """Payloads the bot POSTed to response URLs and Slack accepted, oldest first."""
        rid = response_id.rsplit("/", 1)[-1] if response_id else None
        return [p.payload for p in self.responses_store.posts if p.status == 200 and rid in (None, p.response_id)]

    def _first_user(self) -> str:
        return next(u for u in self.workspace.users if u != self.workspace.bot_user_id)

    def _general_id(self) -> str:
        return next(c.id for c in self.workspace.channels.values() if c.is_general)
