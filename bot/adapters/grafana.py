"""Grafana's annotations HTTP API: the one module that talks to Grafana.

``POST /api/annotations`` answers ``{"message": "Annotation added", "id": 1}``;
``PATCH /api/annotations/:id`` changes only the fields given (``timeEnd`` turns an
annotation into a region); ``GET /api/annotations?tags=..`` finds annotations by tag.
Authentication is a bearer service account token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.adapters.http_failures import check_status, sending
from bot.adapters.peer import PeerClient

if TYPE_CHECKING:
    import httpx

TOKEN_HINT = "check GRAFANA_TOKEN: a service account token with the annotations:write permission"


class GrafanaClient(PeerClient):
    def __init__(self, base_url: str, token: str, timeout: float = 10.0) -> None:
        super().__init__(base_url, timeout)
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    async def create_annotation(self, body: dict[str, Any]) -> int:
        data = await self._request("POST", "/api/annotations", json=body)
        return int(data["id"])

    async def patch_annotation(self, annotation_id: int, body: dict[str, Any]) -> None:
        await self._request("PATCH", f"/api/annotations/{annotation_id}", json=body)

    async def find_annotations(self, *, tags: list[str], start: int, end: int) -> list[dict[str, Any]]:
        params: list[tuple[str, str | int]] = [("from", start), ("to", end), ("type", "annotation"), ("limit", 100)]
        params += [("tags", tag) for tag in tags]
        found = await self._request("GET", "/api/annotations", params=params)
        return [a for a in found if isinstance(a, dict)] if isinstance(found, list) else []

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        operation = f"{method} {path}"

        def send() -> Any:
            return self._http.request(method, f"{self._base}{path}", headers=self._headers, **kwargs)

        response: httpx.Response = await sending(send, service="grafana", operation=operation, timeout=self._timeout)
        try:
            data = response.json() if response.content else {}
        except ValueError:
            data = {}
        detail = str(data.get("message", "")) if isinstance(data, dict) else ""
        hint = TOKEN_HINT if response.status_code in (401, 403) else \
            "check GRAFANA_URL and the dashboard named in the playbook" if response.status_code in (400, 404) else None
        check_status(response, service="grafana", operation=operation, detail=detail, hint=hint)
        return data
