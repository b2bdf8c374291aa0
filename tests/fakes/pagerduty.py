"""A strict PagerDuty Events API v2 (``POST /v2/enqueue``) on a loopback port, written from
PagerDuty's documentation (developer.pagerduty.com, "Send an Alert Event"):

- ``routing_key`` (32 characters) and ``event_action`` (trigger, acknowledge, resolve) are
  required; a trigger needs ``payload.summary`` (at most 1024 characters), ``payload.source``
  and ``payload.severity`` (critical, error, warning, info); acknowledge and resolve need
  ``dedup_key`` (at most 255 characters).
- Accepted: 202 ``{"status": "success", "message": "Event processed", "dedup_key": ...}``.
- Invalid: 400 ``{"status": "invalid event", "message": "Event object is invalid",
  "errors": [...]}``. Too many events: 429. A trigger with the ``dedup_key`` of an open
  alert is deduplicated into it; acknowledge/resolve of an unknown key are accepted and
  change nothing.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")


@dataclass
class PagerAlert:
    dedup_key: str
    routing_key: str
    status: str  # triggered, acknowledged, resolved
    summary: str
    severity: str
    links: list[dict[str, Any]] = field(default_factory=list)
    history: list[str] = field(default_factory=list)
    triggers: int = 0  # trigger events that opened it (a deduplicated one does not count)


class FakePagerDuty:
    def __init__(self, routing_keys: set[str]) -> None:
        self.routing_keys = routing_keys
        self.alerts: dict[str, PagerAlert] = {}
        self.events: list[dict[str, Any]] = []  # every accepted event, as sent
        self.fail_next: list[int] = []  # statuses to answer instead, in order
        self.hold: float = 0.0  # seconds to wait before answering (a slow PagerDuty)
        self.received = 0  # requests that arrived, answered or not
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> FakePagerDuty:
        app = web.Application()
        app.router.add_post("/v2/enqueue", self._enqueue)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/v2/enqueue"
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def actions(self, dedup_key: str) -> list[str]:
        return list(self.alerts[dedup_key].history) if dedup_key in self.alerts else []

    async def _enqueue(self, request: web.Request) -> web.Response:
        self.received += 1
        if self.hold:
            await asyncio.sleep(self.hold)
        if self.fail_next:
            status = self.fail_next.pop(0)
            if status == 429:
                return web.Response(status=429, text="")
            if status == 400:
                return _invalid(["injected"])
            return web.Response(status=status, text="upstream error")
        if request.content_type != "application/json":
            return _invalid(["Content-Type must be application/json"])
        try:
            event = json.loads(await request.read())
        except ValueError:
            return _invalid(["Body is not valid JSON"])
        errors = _problems(event)
        if errors:
            return _invalid(errors)
        if event["routing_key"] not in self.routing_keys:
            return _invalid(["'routing_key' is not a valid integration key"])  # documented as 400, not 401
        self.events.append(event)
        action = event["event_action"]
        key = event.get("dedup_key") or uuid.uuid4().hex
        alert = self.alerts.get(key)
        if action == "trigger":
            if alert is None or alert.status == "resolved":
                payload = event["payload"]
                alert = PagerAlert(key, event["routing_key"], "triggered", payload["summary"], payload["severity"],
                                   list(event.get("links") or []), (alert.history if alert else []),
                                   (alert.triggers if alert else 0) + 1)
                self.alerts[key] = alert
            alert.history.append("trigger")
        elif alert is not None and alert.status != "resolved":
            alert.status = "acknowledged" if action == "acknowledge" else "resolved"
            alert.history.append(action)
        return web.json_response({"status": "success", "message": "Event processed", "dedup_key": key}, status=202)


def _invalid(errors: list[str]) -> web.Response:
    return web.json_response({"status": "invalid event", "message": "Event object is invalid", "errors": errors},
                             status=400)


def _problems(event: Any) -> list[str]:
    if not isinstance(event, dict):
        return ["Event must be a JSON object"]
    errors = []
    key = event.get("routing_key")
    if not isinstance(key, str) or len(key) != 32:
        errors.append("'routing_key' is missing or not 32 characters")
    action = event.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is invalid (must be one of trigger, acknowledge, resolve)")
    dedup = event.get("dedup_key")
    if dedup is not None and (not isinstance(dedup, str) or len(dedup) > 255):
        errors.append("'dedup_key' must be a string of at most 255 characters")
    if action in ("acknowledge", "resolve") and not dedup:
        errors.append("'dedup_key' is required for acknowledge and resolve")
    if action == "trigger":
        payload = event.get("payload")
        if not isinstance(payload, dict):
            return [*errors, "'payload' is missing"]
        summary = payload.get("summary")
        if not isinstance(summary, str) or not summary or len(summary) > 1024:
            errors.append("'payload.summary' is missing or longer than 1024 characters")
        if not isinstance(payload.get("source"), str) or not payload["source"]:
            errors.append("'payload.source' is missing")
        if payload.get("severity") not in SEVERITIES:
            errors.append("'payload.severity' is invalid (must be one of critical, error, warning, info)")
        for link in event.get("links") or []:
            if not isinstance(link, dict) or not isinstance(link.get("href"), str):
                errors.append("'links' entries need an 'href'")
    return errors
