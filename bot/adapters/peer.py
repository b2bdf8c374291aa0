"""One long-lived HTTP client per peer the bot calls: a connection pool kept for the bot's
lifetime, closed at shutdown (``aclose``, or ``async with``)."""

from __future__ import annotations

from typing import Self

import httpx


class PeerClient:
    def __init__(self, base_url: str, timeout: float) -> None:
        self._base = base_url.rstrip("/")
        self._timeout = timeout
        self._http = httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()
