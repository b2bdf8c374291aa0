"""The emulator's HTTP surface: ``/api/<method>``, ``/upload/<file_id>``, ``/response/<id>``.

Each API call goes through the same steps: read the arguments, serve any injected
delay, apply an injected fault, check the token, find the method, apply the rate
limit, run the method. Every answer (or dropped connection) is recorded as a ``Call``.
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
from .ratelimit import RateLimiter
from .recording import Call
from .registry import HANDLERS
from .responses import ResponseUrls
from .scopes import missing_scope_body
from .socket_mode import SocketModeServer
from .state import Workspace

DEPRECATED_METHODS = frozenset({"files.upload", "channels.create", "channels.invite", "groups.create"})
# Slack may answer an unknown method with another status; the brief settles on 200 like other errors.
UNKNOWN_METHOD_STATUS = 200
_INJECTED_ERRORS = {429: "ratelimited", 500: "fatal_error", 502: "bad_gateway", 503: "service_unavailable",
                    504: "request_timeout"}


class ApiServer:
    """Request handlers over one workspace; owned by :class:`SlackEmulator`."""

    def __init__(self, *, ws: Workspace, token: str, faults: Faults, limiter: RateLimiter,
                 responses: ResponseUrls, calls: list[Call], socket_mode: SocketModeServer | None = None) -> None:
        self.socket_mode = socket_mode
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
