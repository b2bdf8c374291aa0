"""The workspace's routes under ``/ui/``; every one of them passes the guard first."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.web import incident_list, insights, signin

STATIC = Path(__file__).resolve().parent / "static"


async def _to_list(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/ui/")


def add_workspace_routes(app: web.Application) -> None:
    app.router.add_get("/ui", _to_list)
    app.router.add_get("/ui/", incident_list.incidents)
    app.router.add_get("/ui/insights", insights.insights)
    app.router.add_get("/ui/login", signin.login)
    app.router.add_get("/ui/auth/callback", signin.callback)
    app.router.add_post("/ui/logout", signin.logout)
    app.router.add_static("/ui/static", STATIC, append_version=False)
