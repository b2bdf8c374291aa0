"""Signed requests from "Slack" to the bot (PROTOCOLS B2)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

import httpx

SignatureMode = Literal["valid", "bad", "stale", "missing"]
STALE_AGE = 6 * 60  # beyond the 5-minute replay window
ACK_DEADLINE = 3.0


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, mode: SignatureMode = "valid") -> dict[str, str]:
    """Slack's signing headers for ``body``: valid, with a wrong signature, stale, or absent."""
    if mode == "missing":
        return {}
    timestamp = int(time.time()) - (STALE_AGE if mode == "stale" else 0)
    value = signature(secret, timestamp, body)
    if mode == "bad":
        value = signature(secret + "-wrong", timestamp, body)
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": value}


@dataclass(frozen=True)
class Delivery:
    """One request sent to the bot and how it answered.

    ``late`` is true when the answer took longer than Slack's 3-second ack deadline.
    """

    kind: str
    url: str
    fields: dict[str, Any]
    status: int
    elapsed: float

    @property
    def late(self) -> bool:
        return self.elapsed > ACK_DEADLINE


class BotSender:
    """Sends signed form or JSON bodies to the bot and records each delivery."""

    def __init__(self, signing_secret: str) -> None:
        self.signing_secret = signing_secret
        self.deliveries: list[Delivery] = []
        self._client: httpx.AsyncClient | None = None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def send_form(self, kind: str, url: str, fields: dict[str, Any], mode: SignatureMode,
                        headers: dict[str, str] | None = None) -> httpx.Response:
        body = urlencode(fields).encode()
        return await self._send(kind, url, fields, body, "application/x-www-form-urlencoded", mode, headers)

    async def send_json(self, kind: str, url: str, document: dict[str, Any], mode: SignatureMode,
                        headers: dict[str, str] | None = None) -> httpx.Response:
        body = json.dumps(document).encode()
        return await self._send(kind, url, document, body, "application/json", mode, headers)

    async def _send(self, kind: str, url: str, fields: dict[str, Any], body: bytes, content_type: str,
                    mode: SignatureMode, headers: dict[str, str] | None) -> httpx.Response:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=30.0)
        all_headers = {"Content-Type": content_type, "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
                       **signed_headers(self.signing_secret, body, mode), **(headers or {})}
        started = time.monotonic()
        response = await self._client.post(url, content=body, headers=all_headers)
        self.deliveries.append(Delivery(kind, url, fields, response.status_code, time.monotonic() - started))
        return response
