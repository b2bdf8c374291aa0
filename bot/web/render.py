"""Pages from templates: Jinja2 with autoescaping on, so anything from an alert, a note or a
person is text in the page, never markup; times in UTC (the page's script adds the viewer's
own zone); a one-time notice after a change (the signed flash cookie)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Literal

from aiohttp import web
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from bot.web.sessions import CSRF_FIELD, Viewer, set_cookie
from bot.web.workspace import Workspace

FLASH_COOKIE = "incident_bot_flash"
FlashKind = Literal["done", "refused"]


def when(value: datetime | None, style: str = "minute") -> Markup:
    """A ``<time>`` the page's script can show in the viewer's zone too; UTC as written."""
    if value is None:
        return Markup("—")
    value = value.astimezone(UTC)
    shown = value.strftime("%Y-%m-%d %H:%M:%S" if style == "second" else "%Y-%m-%d %H:%M")
    return Markup('<time datetime="{}">{} UTC</time>').format(value.strftime("%Y-%m-%dT%H:%M:%SZ"), shown)


def duration(value: timedelta | float | None) -> str:
    if value is None:
        return "—"
    seconds = int(value.total_seconds() if isinstance(value, timedelta) else value)
    if seconds < 60:
        return f"{seconds} s"
    minutes, _ = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("bot.web", "templates"), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = when
    env.filters["duration"] = duration
    return env


def csrf_input(viewer: Viewer) -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, escape(viewer.csrf_token))


def render(template: str, context: Mapping[str, object]) -> str:
    return environment().get_template(template).render(context)


def sessionless_page(template: str, context: Mapping[str, object], *, status: int = 200) -> web.Response:
    """A page for nobody signed in (an error, signed out): the layout without the viewer's parts."""
    body = render(template, {"viewer": None, "notice": None, "csrf": "", "csrf_token": "", "path": "", **context})
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def page(request: web.Request, workspace: Workspace, template: str, viewer: Viewer | None,
         context: Mapping[str, object], *, status: int = 200) -> web.Response:
    notice = _take_flash(request, workspace)
    body = render(template, {"viewer": viewer, "csrf": csrf_input(viewer) if viewer else Markup(""),
                             "csrf_token": viewer.csrf_token if viewer else "", "notice": notice,
                             "path": request.path, "now": workspace.clock(), **context})
    response = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    if notice is not None:
        response.del_cookie(FLASH_COOKIE, path="/ui")
    return response


def flash(response: web.StreamResponse, workspace: Workspace, text: str, kind: FlashKind = "done") -> None:
    value = URLSafeTimedSerializer(workspace.settings.session_secret, salt="incident-bot.flash").dumps([kind, text])
    set_cookie(response, workspace, FLASH_COOKIE, value, 60)


def _take_flash(request: web.Request, workspace: Workspace) -> tuple[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        kind, text = URLSafeTimedSerializer(workspace.settings.session_secret,
                                            salt="incident-bot.flash").loads(raw, max_age=60)
    except (BadSignature, ValueError, TypeError):
        return None
    return str(kind), str(text)


def redirect_with(workspace: Workspace, location: str, text: str, kind: FlashKind = "done") -> web.Response:
    """Post/redirect/get: the change is done, the page is shown again with one line about it."""
    response = web.Response(status=303, headers={"Location": location})
    flash(response, workspace, text, kind)
    return response
