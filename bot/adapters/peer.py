"""One long-lived HTTP client per peer the bot calls: a connection pool kept for the bot's
lifetime, closed at shutdown (``aclose``, or ``async with``). The pool is made when the peer is
first called: each one loads the CA bundle (some 30 ms), and a bot builds clients for peers
(PagerDuty, webhooks) that it may not call for hours (deferred for start-up). httpx itself is
imported then too (the adapters import it only for their types or inside a call): with the
command-line extras it pulls in, that was some 45 ms of every start."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    import httpx


class PeerClient:
    def __init__(self, base_url: str, timeout: float) -> None:
        self._base = base_url.rstrip("/")
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    @property
    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(timeout=self._timeout)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()
