"""Follow-ups as JSON: ``GET /incidents/<id>/followups`` and ``GET /followups?status=``.

Bearer ``API_TOKEN``, as the rest of the read API.
"""

from __future__ import annotations

from aiohttp import web

from bot.http.api import _authorized, _incident_id, _iso
from bot.http.json_errors import json_error
from bot.http.keys import CLOCK, DATABASE
from storage import alerting
from storage import followups as store
from storage.rows import FollowUpRow

LIMIT = 500


def followup_json(followup: FollowUpRow) -> dict[str, object]:
    return {
        "incident_id": followup.incident_id, "number": followup.number, "text": followup.text,
        "owner": followup.owner, "due_at": _iso(followup.due_at), "status": followup.status,
        "created_by": followup.created_by, "created_at": _iso(followup.created_at), "source": followup.source,
        "message_link": followup.message_link, "closed_at": _iso(followup.closed_at),
        "closed_by": followup.closed_by, "close_reason": followup.close_reason,
        "tracker": ({"name": followup.tracker, "key": followup.tracker_key, "url": followup.tracker_url}
                    if followup.tracker_key else None),
    }


async def incident_followups(request: web.Request) -> web.Response:
    if (refusal := _authorized(request)) is not None:
        return refusal
    incident_id = _incident_id(request)
    db = request.app[DATABASE]
    incident = await db.read(alerting.get_incident, incident_id) if incident_id else None
    if incident is None or incident_id is None:
        return json_error(404, f"no incident {request.match_info['incident_id']}")
    rows = await db.read(store.of_incident, incident_id)
    return web.json_response({"incident_id": incident_id, "followups": [followup_json(f) for f in rows]})


async def list_followups(request: web.Request) -> web.Response:
    if (refusal := _authorized(request)) is not None:
        return refusal
    status = request.query.get("status")
    if status is not None and status not in store.STATUSES:
        return json_error(400, f"status must be one of {', '.join(store.STATUSES)}")
    overdue = request.query.get("overdue")
    if overdue not in (None, "true", "false"):
        return json_error(400, "overdue must be true or false")
    overdue_at = request.app[CLOCK]() if overdue == "true" else None
    rows = await request.app[DATABASE].read(store.listed, status=status, overdue_at=overdue_at, limit=LIMIT)
    return web.json_response({"followups": [followup_json(f) for f in rows]})
