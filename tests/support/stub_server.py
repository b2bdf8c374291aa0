"""A tiny loopback HTTP server for peers whose misbehaviour a test needs (a 400, a hang)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web

from tests.support.bot import free_port

Route = tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]  # (method, path, handler)


@asynccontextmanager
async def stub_server(*routes: Route) -> AsyncIterator[str]:
    """Serve the routes on 127.0.0.1:<free port>; yields the base URL."""
    app = web.Application()
    for method, path, handler in routes:
        app.router.add_route(method, path, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
