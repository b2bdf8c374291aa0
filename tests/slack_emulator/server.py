"""The emulator's HTTP surface: ``/api/<method>``, ``/upload/<file_id>``, ``/response/<id>``,
and Sign in with Slack's pages: ``/openid/connect/authorize``, ``/openid/connect/keys``.

Each API call goes through the same steps: read the arguments, serve any injected
delay, apply an injected fault, check the token, find the method, apply the rate
limit, run the method. Every answer (or dropped connection) is recorded as a ``Call``.
The two ``openid.connect.*`` methods authenticate the app's client or a user token instead
of the bot token.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

# Imported for their @method registrations.
from . import methods_chat, methods_conversations, methods_files, methods_items, methods_misc  # noqa: F401
from .args import Args, read_arguments
from .errors import SlackError
from .faults import DROP, Faults
from .methods_files import receive_upload
from .openid import AuthorizeRefused, OpenIdProvider, Redirect
from .ratelimit import RateLimiter
from .recording import Call
from .registry import HANDLERS
from .responses import ResponseUrls
from .scopes import missing_scope_body
from .signin_page import AUTHORIZE_PATH, error_page, sign_in_page
from .socket_mode import SocketModeServer
from .state import Workspace

DEPRECATED_METHODS = frozenset({"files.upload", "channels.create", "channels.invite", "groups.create"})
# Slack may answer an unknown method with another status; the brief settles on 200 like other errors.
UNKNOWN_METHOD_STATUS = 200
OPENID_METHODS = frozenset({"openid.connect.token", "openid.connect.userInfo"})
# A 1x1 transparent PNG, the picture of everyone who signs in.
AVATAR_PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                           "0000000b49444154789c6360000200000500017a5eab3f0000000049454e44ae426082")
_INJECTED_ERRORS = {429: "ratelimited", 500: "fatal_error", 502: "bad_gateway", 503: "service_unavailable",
                    504: "request_timeout"}


class ApiServer:
    """Request handlers over one workspace; owned by :class:`SlackEmulator`."""

    def __init__(self, *, ws: Workspace, token: str, faults: Faults, limiter: RateLimiter,
                 responses: ResponseUrls, calls: list[Call], openid: OpenIdProvider,
                 socket_mode: SocketModeServer | None = None) -> None:
        self.socket_mode = socket_mode
        self.openid = openid
        self.ws = ws
        self.token = token
        self.faults = faults
        self.limiter = limiter
        self.responses = responses
        self.calls = calls

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self.api)
        app.router.add_post("/upload/{file_id}", self.upload)
        app.router.add_post("/response/{response_id}", self.response_url)
        app.router.add_get(AUTHORIZE_PATH, self.authorize)
        app.router.add_post(AUTHORIZE_PATH, self.authorize_answer)
        app.router.add_get("/openid/connect/keys", self.keys)
        app.router.add_get("/.well-known/openid-configuration", self.openid_configuration)
        app.router.add_get("/avatars/{user_id}.png", self.avatar)
        if self.socket_mode is not None:
            app.router.add_get("/socket", self.socket_mode.websocket)
        return app

    async def api(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["method"]
        try:
            raw, token = await read_arguments(request)
        except SlackError as exc:
            return self._answer(name, {}, 200, exc.body())
        delay = self.faults.delay_for(name)
        if delay:
            await asyncio.sleep(delay)
        injected = self.faults.status_for(name)
        if injected == DROP:
            self._record(name, raw, 0, {"ok": False, "error": "connection_dropped"})
            if request.transport is not None:
                request.transport.close()
            return web.Response()
        if injected is not None:
            body = {"ok": False, "error": _INJECTED_ERRORS.get(injected, "fatal_error")}
            headers = {"Retry-After": "1"} if injected == 429 else {}
            return self._answer(name, raw, injected, body, headers)
        if name in OPENID_METHODS:
            return self._openid_method(name, raw, token, request.headers.get("Authorization", ""))
        if not token:
            return self._answer(name, raw, 200, {"ok": False, "error": "not_authed"})
        if name == "apps.connections.open":  # the one method that takes the app-level token
            if self.socket_mode is None or token != self.socket_mode.app_token:
                return self._answer(name, raw, 200, {"ok": False, "error": "invalid_auth"})
            url = f"{self.ws.base_url.replace('http://', 'ws://')}socket"
            return self._answer(name, raw, 200, {"ok": True, "url": url})
        if token != self.token:
            return self._answer(name, raw, 200, {"ok": False, "error": "invalid_auth"})
        if name in DEPRECATED_METHODS:
            return self._answer(name, raw, 200, {"ok": False, "error": "method_deprecated"})
        handler = HANDLERS.get(name)
        if handler is None:
            body = {"ok": False, "error": "unknown_method", "req_method": name}
            return self._answer(name, raw, UNKNOWN_METHOD_STATUS, body)
        refused = missing_scope_body(name, raw, self.ws.revoked_scopes)
        if refused is not None:
            return self._answer(name, raw, 200, refused)
        retry_after = self.limiter.admit(name, self._channel_key(raw))
        if retry_after is not None:
            headers = {"Retry-After": str(retry_after)}
            return self._answer(name, raw, 429, {"ok": False, "error": "ratelimited"}, headers)
        try:
            body = {"ok": True, **handler(self.ws, Args(raw))}
        except SlackError as exc:
            body = exc.body()
        return self._answer(name, raw, 200, body)

    def _openid_method(self, name: str, raw: dict[str, Any], token: str | None, authorization: str) -> web.Response:
        retry_after = self.limiter.admit(name, None)
        if retry_after is not None:
            headers = {"Retry-After": str(retry_after)}
            return self._answer(name, raw, 429, {"ok": False, "error": "ratelimited"}, headers)
        try:
            if name == "openid.connect.token":
                body = {"ok": True, **self.openid.token(Args(raw), authorization)}
            else:
                body = {"ok": True, **self.openid.user_info(token)}
        except SlackError as exc:
            body = exc.body()
        return self._answer(name, raw, 200, body)

    async def authorize(self, request: web.Request) -> web.Response:
        """The browser arrives from the app to sign someone in."""
        try:
            outcome = self.openid.authorize(list(request.query.items()))
        except AuthorizeRefused as exc:
            return _html(error_page(str(exc)), status=400)
        if isinstance(outcome, Redirect):
            raise web.HTTPFound(outcome.url)
        return _html(sign_in_page(self.ws, outcome))

    async def authorize_answer(self, request: web.Request) -> web.Response:
        """The sign-in page's form: who signs in, or Cancel."""
        form = await request.post()
        request_id, user = str(form.get("request", "")), form.get("user")
        if "cancel" not in form and not isinstance(user, str):
            return _html(error_page("Choose who signs in, or Cancel."), status=400)
        try:
            outcome = self.openid.decide(request_id, None if "cancel" in form else str(user))
        except AuthorizeRefused as exc:
            return _html(error_page(str(exc)), status=400)
        raise web.HTTPFound(outcome.url)

    async def keys(self, request: web.Request) -> web.Response:
        return web.json_response(self.openid.jwks())

    async def openid_configuration(self, request: web.Request) -> web.Response:
        issuer = self.openid.issuer
        return web.json_response({
            "issuer": issuer, "authorization_endpoint": f"{issuer}{AUTHORIZE_PATH}",
            "token_endpoint": f"{issuer}/api/openid.connect.token",
            "userinfo_endpoint": f"{issuer}/api/openid.connect.userInfo", "jwks_uri": f"{issuer}/openid/connect/keys",
            "scopes_supported": ["openid", "profile", "email"], "response_types_supported": ["code"],
            "response_modes_supported": ["query"], "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        })

    async def avatar(self, request: web.Request) -> web.Response:
        if self.ws.person(request.match_info["user_id"]) is None:
            return web.Response(status=404, text="not found")
        return web.Response(body=AVATAR_PNG, content_type="image/png")

    async def upload(self, request: web.Request) -> web.Response:
        """The upload URL of files v2: the raw bytes (or a multipart file part) of one file."""
        if request.content_type == "multipart/form-data":
            form = await request.post()
            part = next((v for v in form.values() if isinstance(v, web.FileField)), None)
            data = part.file.read() if part is not None else b""
        else:
            data = await request.read()
        if not receive_upload(self.ws, request.match_info["file_id"], data):
            return web.Response(status=404, text="file_not_found")
        return web.Response(text=f"OK - {len(data)}")

    async def response_url(self, request: web.Request) -> web.Response:
        status, text = self.responses.receive(request.match_info["response_id"], await request.read())
        return web.Response(status=status, text=text)

    def _channel_key(self, raw: dict[str, Any]) -> str | None:
        ref = str(raw.get("channel") or "")
        if ref in self.ws.channels:
            return ref
        channel = self.ws.channel_named(ref.removeprefix("#"))
        return channel.id if channel else ref or None

    def _answer(self, name: str, raw: dict[str, Any], status: int, body: dict[str, Any],
                headers: dict[str, str] | None = None) -> web.Response:
        self._record(name, raw, status, body)
        return web.json_response(body, status=status, headers=headers)

    def _record(self, name: str, raw: dict[str, Any], status: int, body: dict[str, Any]) -> None:
        ok = bool(body.get("ok"))
        self.calls.append(Call(name, dict(raw), status, ok, None if ok else body.get("error"), time.monotonic()))


def _html(text: str, *, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")
