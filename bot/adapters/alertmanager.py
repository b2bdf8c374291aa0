"""Alertmanager's API v2, for silences: the one module that talks to Alertmanager."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.adapters.peer import PeerClient


class AlertmanagerError(Exception):
    """One line the commander can read: what Alertmanager said or why it could not be reached."""


class AlertmanagerClient(PeerClient):
    """Owns one connection pool for the bot's lifetime; ``aclose`` it at shutdown."""

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        super().__init__(base_url, timeout)

    async def create_silence(self, labels: Mapping[str, str], starts_at: datetime, ends_at: datetime,
                             created_by: str, comment: str) -> str:
        """Silence alerts whose labels equal all of ``labels``; returns the silence id."""
        body = {
            "matchers": [{"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in sorted(labels.items())],
            "startsAt": starts_at.isoformat(), "endsAt": ends_at.isoformat(),
            "createdBy": created_by, "comment": comment,
        }
        data = await self._request("POST", "/api/v2/silences", body)
        return str(data["silenceID"])

    async def expire_silence(self, silence_id: str) -> None:
        await self._request("DELETE", f"/api/v2/silence/{silence_id}")

    async def active_fingerprints(self) -> set[str]:
        """Fingerprints of every alert Alertmanager holds now (firing, silenced or inhibited)."""
        alerts = await self._request("GET", "/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true")
        return {str(a["fingerprint"]) for a in alerts if isinstance(a, dict) and "fingerprint" in a}

    async def _request(self, method: str, path: str, body: object = None) -> Any:
        import httpx  # with the first call (bot/adapters/peer.py)

        try:
            response = await self._http.request(method, f"{self._base}{path}", json=body)
        except httpx.TimeoutException:
            raise AlertmanagerError(f"Alertmanager did not answer within {self._timeout:g}s") from None
        except httpx.HTTPError as exc:
            raise AlertmanagerError(f"cannot reach Alertmanager ({type(exc).__name__})") from None
        if response.status_code >= 400:
            detail = response.text.strip().replace("\n", " ")[:200] or response.reason_phrase
            raise AlertmanagerError(f"Alertmanager answered {response.status_code}: {detail}")
        return response.json() if response.content else {}
