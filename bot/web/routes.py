"""The workspace's routes under ``/ui/``; every one of them passes the guard first."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.web import incident_list, incident_page, insights, signin, timeline_forms, timeline_stream
from bot.web.keys import WORKSPACE

STATIC = Path(__file__).resolve().parent / "static"


async def _to_list(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/ui/")


async def _end_live_timelines(app: web.Application) -> None:
    """Shutdown has begun: open live timelines end now (the browsers reconnect to whichever
    replica answers), so shutdown does not wait for them."""
    workspace = app.get(WORKSPACE)
    if workspace is not None:
        workspace.wakeups.close()


def add_workspace_routes(app: web.Application) -> None:
    app.router.add_get("/ui", _to_list)
    app.router.add_get("/ui/", incident_list.incidents)
    app.router.add_get("/ui/insights", insights.insights)
    app.router.add_get("/ui/login", signin.login)
    app.router.add_get("/ui/auth/callback", signin.callback)
    app.router.add_post("/ui/logout", signin.logout)
    app.router.add_get("/ui/incidents/{incident_id}", incident_page.incident)
    app.router.add_get("/ui/incidents/{incident_id}/stream", timeline_stream.stream)
    app.router.add_post("/ui/incidents/{incident_id}/timeline/{event_id}/mark", timeline_forms.mark)
    app.router.add_post("/ui/incidents/{incident_id}/timeline/{event_id}/unmark", timeline_forms.unmark)
    app.router.add_post("/ui/incidents/{incident_id}/timeline/{event_id}/correct", timeline_forms.correct)
    app.router.add_post("/ui/incidents/{incident_id}/timeline/{event_id}/hide", timeline_forms.hide)
    app.router.add_post("/ui/incidents/{incident_id}/timeline/{event_id}/show", timeline_forms.show)
    app.router.add_static("/ui/static", STATIC, append_version=False)
    app.on_shutdown.append(_end_live_timelines)
