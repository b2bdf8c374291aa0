"""A strict Grafana annotations HTTP API on a loopback port, written from Grafana's
"Annotations API" documentation:

- ``POST /api/annotations`` with ``time`` (epoch ms), optional ``timeEnd``, ``tags``,
  ``text`` (required), ``dashboardUID``, ``panelId``: 200 ``{"message": "Annotation added", "id": N}``.
- ``PATCH /api/annotations/:id`` changes only the fields given: 200
  ``{"message": "Annotation patched"}``; an unknown id is 404.
- ``GET /api/annotations?from=&to=&tags=&type=&limit=`` finds annotations overlapping the
  time range and carrying every tag given.
- Every request needs ``Authorization: Bearer <service account token>``: otherwise 401
  ``{"message": "Unauthorized"}``. A JSON body that is not an object is 400.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Annotation:
    id: int
    time: int
    time_end: int
    text: str
    tags: list[str]
    dashboard_uid: str | None = None
    panel_id: int | None = None
    patches: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "time": self.time, "timeEnd": self.time_end, "text": self.text, "tags": self.tags,
                "dashboardUID": self.dashboard_uid or "", "panelId": self.panel_id or 0, "type": "annotation"}


class FakeGrafana:
    def __init__(self, token: str, dashboards: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.token = token
        self.dashboards = set(dashboards)
        self.annotations: dict[int, Annotation] = {}
        self.requests: list[tuple[str, str]] = []
        self.fail_next: list[int] = []
        self.hold: float = 0.0
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> FakeGrafana:
        app = web.Application(middlewares=[self._auth])
        app.router.add_post("/api/annotations", self._create)
        app.router.add_get("/api/annotations", self._find)
        app.router.add_patch("/api/annotations/{id}", self._patch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"message": "Unauthorized"}, status=401)
        if self.hold:
            await asyncio.sleep(self.hold)
        if self.fail_next:
            return web.json_response({"message": "injected"}, status=self.fail_next.pop(0))
        response: web.StreamResponse = await handler(request)
        return response

    async def _body(self, request: web.Request) -> dict[str, Any] | None:
        try:
            body = json.loads(await request.read())
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    async def _create(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if body is None:
            return web.json_response({"message": "bad request data"}, status=400)
        if not isinstance(body.get("text"), str) or not body["text"]:
            return web.json_response({"message": "Failed to save annotation: text field should not be empty"},
                                     status=400)
        uid = body.get("dashboardUID")
        if uid and uid not in self.dashboards:
            return web.json_response({"message": "Dashboard not found"}, status=404)
        if not isinstance(body.get("time", 0), int) or not all(isinstance(t, str) for t in body.get("tags") or []):
            return web.json_response({"message": "bad request data"}, status=400)
        annotation_id = len(self.annotations) + 1
        time = int(body.get("time") or 0)
        self.annotations[annotation_id] = Annotation(annotation_id, time, int(body.get("timeEnd") or time),
                                                     body["text"], list(body.get("tags") or []), uid,
                                                     body.get("panelId"))
        return web.json_response({"message": "Annotation added", "id": annotation_id})

    async def _patch(self, request: web.Request) -> web.Response:
        annotation = self.annotations.get(int(request.match_info["id"]))
        if annotation is None:
            return web.json_response({"message": "Could not find annotation to update"}, status=404)
        body = await self._body(request)
        if body is None:
            return web.json_response({"message": "bad request data"}, status=400)
        annotation.patches.append(body)
        if "timeEnd" in body:
            annotation.time_end = int(body["timeEnd"])
        if "text" in body:
            annotation.text = str(body["text"])
        if "tags" in body:
            annotation.tags = list(body["tags"])
        return web.json_response({"message": "Annotation patched"})

    async def _find(self, request: web.Request) -> web.Response:
        start = int(request.query.get("from", 0))
        end = int(request.query.get("to", 2**62))
        tags = request.query.getall("tags", [])
        limit = int(request.query.get("limit", 100))
        found = [a.as_json() for a in self.annotations.values()
                 if a.time <= end and a.time_end >= start and all(t in a.tags for t in tags)]
        return web.json_response(found[:limit])
