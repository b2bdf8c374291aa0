"""Every ``/ui/`` request passes here: no session, no page (a redirect to sign in); a change
needs the session's CSRF token; only people of the bot's own Slack workspace stay in; every
answer carries a Content-Security-Policy that allows no inline script; and errors are pages,
not JSON or stack traces."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from urllib.parse import quote

import structlog
from aiohttp import web

from bot.web.keys import WORKSPACE, WORKSPACE_OFF
from bot.web.render import sessionless_page
from bot.web.sessions import CSRF_FIELD, CSRF_HEADER, csrf_ok, end_session, load_viewer

log = structlog.get_logger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
OPEN_PATHS = frozenset({"/ui/login", "/ui/auth/callback"})
SAFE_METHODS = frozenset({"GET", "HEAD"})
CSRF_REFUSED = ("This form has expired or did not come from this workspace's page (its CSRF token is missing "
                "or wrong). Reload the page and try again.")


async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A ``/ui/`` request, as ``bot.web.gate.workspace_guard`` hands it over."""
    started = time.perf_counter()
    try:
        response = await _guarded(request, handler)
    except web.HTTPException as exc:
        if exc.status < 400:
            response = web.Response(status=exc.status, headers={"Location": exc.headers.get("Location", "/ui/")})
        else:
            response = error_page(exc.status, exc.text or exc.reason)
    except Exception:
        log.exception("unhandled error in the web workspace", path=request.path)
        response = error_page(500, "Something went wrong on the bot's side; it logged the details.")
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if not request.path.startswith("/ui/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    if response.prepared:  # a stream (the live timeline) has sent its headers already
        return response
    # The server's own time for the page, shown by browsers' developer tools (and read by bench/web_pages.py).
    response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response


def error_page(status: int, message: str) -> web.Response:
    return sessionless_page("error.html", {"status": status, "message": message}, status=status)


async def _guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
    workspace = request.app.get(WORKSPACE)
    if workspace is None:
        return error_page(503, request.app.get(WORKSPACE_OFF, "The web workspace is starting; try again shortly."))
    if request.path.startswith("/ui/static/") or request.path in OPEN_PATHS:
        return await handler(request)
    viewer = await load_viewer(request, workspace)
    if viewer is None:
        if request.method in SAFE_METHODS and not request.path.endswith("/stream"):
            return web.Response(status=302, headers={"Location": f"/ui/login?next={quote(request.path_qs, safe='')}"})
        return error_page(401, "You are not signed in, or your session has ended. Sign in again.")
    team = await workspace.team_of()
    if team is not None and viewer.team_id != team:
        response = error_page(403, f"You are signed in to another Slack workspace ({viewer.team_id}); "
                                   "this bot serves only its own. Sign in again with that workspace.")
        await end_session(request, response, workspace)
        return response
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            sent = str((await request.post()).get(CSRF_FIELD, "")) or None
        if not csrf_ok(viewer, sent):
            return error_page(403, CSRF_REFUSED)
    return await handler(request)
