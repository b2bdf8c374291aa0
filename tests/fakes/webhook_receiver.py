"""A webhook receiver that checks incident-bot's signature the way a receiver should:
HMAC-SHA256 of the raw body with the shared secret, compared in constant time, and a
``sent_at`` no older than five minutes (replay protection). It records what it accepted."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

MAX_AGE = timedelta(minutes=5)


class WebhookReceiver:
    def __init__(self, secret: str, *, now: Any = None) -> None:
        self.secret = secret
        self.now = now or (lambda: datetime.now(UTC))
        self.accepted: list[dict[str, Any]] = []
        self.refused: list[str] = []
        self.fail_next: list[int] = []
        self.hold: float = 0.0
        self.received = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post("/hooks/incidents", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hooks/incidents"
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def deliveries(self) -> list[str]:
        return [str(b["delivery"]) for b in self.accepted]

    async def _receive(self, request: web.Request) -> web.Response:
        self.received += 1
        if self.hold:
            await asyncio.sleep(self.hold)
        if self.fail_next:
            return web.Response(status=self.fail_next.pop(0), text="injected")
        raw = await request.read()
        expected = "sha256=" + hmac.new(self.secret.encode(), raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("X-Incident-Bot-Signature", ""), expected):
            self.refused.append("signature")
            return web.Response(status=401, text="bad signature")
        body = json.loads(raw)
        if self.now() - datetime.fromisoformat(body["sent_at"]) > MAX_AGE:
            self.refused.append("replay")
            return web.Response(status=400, text="too old")
        if request.headers.get("X-Incident-Bot-Delivery") != body["delivery"]:
            self.refused.append("delivery")
            return web.Response(status=400, text="delivery id mismatch")
        self.accepted.append(body)
        return web.Response(status=204)
