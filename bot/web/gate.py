"""The middleware in front of every request: a ``/ui/`` one goes through the workspace's guard
(``bot.web.guard``), anything else straight on. The guard, its templates and the session cookie's
signing are imported with the first ``/ui/`` request (deferred for start-up)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def in_workspace(path: str) -> bool:
    return path == "/ui" or path.startswith("/ui/")


@web.middleware
async def workspace_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not in_workspace(request.path):
        return await handler(request)
    from bot.web.guard import guard

    return await guard(request, handler)
