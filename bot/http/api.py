"""The read-only incident API: ``GET /incidents``, ``/incidents/<id>`` and its postmortem.

Bearer ``API_TOKEN``; with no token configured every request is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

from aiohttp import web

from bot.domain.timeline_edits import MOMENTS, TimelineEdits, fold
from bot.http.auth import api_token_ok
from bot.http.json_errors import json_error
from bot.http.keys import DATABASE, PLAYBOOKS, SETTINGS
from bot.incident.drafts import PostmortemError, filename, postmortem_markdown
from storage import postmortems, queries
from storage.rows import AlertRow, EventRow, IncidentRow

STATUSES = ("open", "investigating", "identified", "monitoring", "resolved")

_Default = TypeVar("_Default", int, None)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def incident_json(incident: IncidentRow) -> dict[str, object]:
    return {
        "id": incident.id, "title": incident.title, "severity": incident.severity, "status": incident.status,
        "source": incident.source, "playbook": incident.playbook, "route": incident.route,
        "commander": incident.commander, "declared_by": incident.declared_by, "roles": incident.roles or {},
        "channel": {"id": incident.channel_id, "name": incident.channel_name},
        "opened_at": _iso(incident.opened_at), "acknowledged_at": _iso(incident.acknowledged_at),
        "mitigated_at": _iso(incident.mitigated_at), "resolved_at": _iso(incident.resolved_at),
        "postmortem": f"/incidents/{incident.id}/postmortem.md",
    }


def _authorized(request: web.Request) -> web.Response | None:
    if api_token_ok(request.app[SETTINGS].api_token, request.headers.get("Authorization")):
        return None
    if request.app[SETTINGS].api_token is None:
        return json_error(401, "the incident API is disabled: API_TOKEN is not set on the bot")
    return json_error(401, "missing or invalid bearer token", headers={"WWW-Authenticate": 'Bearer realm="incidents"'})


def _int_param(request: web.Request, name: str, default: _Default, low: int, high: int) -> int | _Default:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name} must be a whole number") from None
    if not low <= value <= high:
        raise web.HTTPBadRequest(text=f"{name} must be between {low} and {high}")
    return value


async def list_incidents(request: web.Request) -> web.Response:
    if (refusal := _authorized(request)) is not None:
        return refusal
    status = request.query.get("status")
    if status is not None and status not in STATUSES:
        return json_error(400, f"status must be one of {', '.join(STATUSES)}")
    try:
        limit = _int_param(request, "limit", 50, 1, 200)
        before = _int_param(request, "before", None, 1, 2**62)
    except web.HTTPBadRequest as exc:
        return json_error(400, exc.text or "bad query parameter")
    rows = await request.app[DATABASE].read(queries.incidents_page, status=status, limit=limit, before_id=before)
    return web.json_response({"incidents": [incident_json(i) for i in rows]})


def _incident_id(request: web.Request) -> int | None:
    raw = request.match_info["incident_id"]
    return int(raw) if raw.isdigit() and len(raw) < 18 else None


async def get_incident(request: web.Request) -> web.Response:
    if (refusal := _authorized(request)) is not None:
        return refusal
    incident_id = _incident_id(request)
    found = await request.app[DATABASE].read(queries.incident_detail, incident_id) if incident_id else None
    if found is None:
        return json_error(404, f"no incident {request.match_info['incident_id']}")
    body = incident_json(found.incident)
    body["alerts"] = [_alert_json(a) for a in found.alerts]
    edits = fold(found.events)
    body["timeline"] = [_event_json(e, edits) for e in found.events]
    body["moments"] = moments_json(found.events, edits)
    tracked = await request.app[DATABASE].read(postmortems.get, found.incident.id)
    body["postmortem"] = None if tracked is None else {
        "owner": tracked.owner, "status": tracked.status, "due_at": _iso(tracked.due_at),
        "on_hold": tracked.suspended_remaining_seconds is not None, "published_at": _iso(tracked.published_at),
        "published_by": tracked.published_by}
    return web.json_response(body)


def _alert_json(alert: AlertRow) -> dict[str, object]:
    return {"fingerprint": alert.fingerprint, "status": alert.status, "labels": alert.labels,
            "annotations": alert.annotations, "starts_at": _iso(alert.starts_at), "ends_at": _iso(alert.ends_at),
            "generator_url": alert.generator_url}


def _event_json(event: EventRow, edits: TimelineEdits) -> dict[str, object]:
    body: dict[str, object] = {"id": event.id, "at": _iso(event.occurred_at), "recorded_at": _iso(event.recorded_at),
                               "kind": event.kind, "actor": event.actor, "data": event.data}
    edited = edits.of(event.id)
    if edited is not None:
        body["hidden"] = edited.hidden
        body["moments"] = list(edited.moments)
        if edited.corrected:
            body["corrected"] = {"text": edited.text, "at": _iso(edited.occurred_at), "by": edited.corrected_by,
                                 "reason": edited.reason}
    return body


def moments_json(events: Sequence[EventRow], edits: TimelineEdits) -> dict[str, object]:
    """Each key moment: the event marking it, when that happened (as corrected), who
    marked it and why; null where none is marked."""
    by_id = {e.id: e for e in events}
    out: dict[str, object] = {}
    for moment in MOMENTS:
        mark = edits.marks.get(moment)
        event = by_id.get(mark.event_id) if mark is not None else None
        out[moment] = None if mark is None or event is None else {
            "event_id": mark.event_id, "at": _iso(edits.time_of(event)), "marked_by": mark.by,
            "marked_at": _iso(mark.at), "reason": mark.reason}
    return out


async def get_postmortem(request: web.Request) -> web.StreamResponse:
    if (refusal := _authorized(request)) is not None:
        return refusal
    incident_id = _incident_id(request)
    settings = request.app[SETTINGS]
    try:
        text = await postmortem_markdown(request.app[DATABASE], lambda: request.app[PLAYBOOKS],
                                         settings.playbooks_dir, incident_id) if incident_id else None
    except PostmortemError as exc:
        return json_error(500, str(exc))
    if text is None:
        return json_error(404, f"no incident {request.match_info['incident_id']}")
    return web.Response(text=text, content_type="text/markdown", charset="utf-8",
                        headers={"Content-Disposition": f'inline; filename="{filename(incident_id or 0)}"'})
