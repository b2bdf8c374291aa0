"""Signed webhooks to receivers a playbook names: the body is JSON, and
``X-Incident-Bot-Signature: sha256=<hex HMAC-SHA256 of the body with the secret>`` lets the
receiver check that it came from the bot; the body's ``sent_at`` lets it refuse replays."""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

from bot.adapters.http_failures import check_status, sending

if TYPE_CHECKING:
    import httpx

SIGNATURE_HEADER = "X-Incident-Bot-Signature"
DELIVERY_HEADER = "X-Incident-Bot-Delivery"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSender:
    """One connection pool for every receiver, made with the first webhook (see
    ``bot.adapters.peer``); ``aclose`` it at shutdown."""

    def __init__(self, timeout: float = 10.0) -> None:
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    @property
    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def send(self, url: str, body: bytes, *, secret: str, delivery: str, secret_env: str) -> int:
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature(secret, body),
                   DELIVERY_HEADER: delivery, "User-Agent": "incident-bot"}
        import httpx

        operation = f"POST {httpx.URL(url).copy_with(query=None)}"
        response = await sending(lambda: self._http.post(url, content=body, headers=headers), service="webhook",
                                 operation=operation, timeout=self._timeout)
        hint = (f"the receiver refused the signature: check that it uses the secret in {secret_env}"
                if response.status_code in (401, 403) else
                "check the webhook url in the playbook" if response.status_code < 500 else None)
        check_status(response, service="webhook", operation=operation, detail=response.text.strip()[:200], hint=hint)
        return response.status_code
