"""Fault injection shared by the tracker fakes: the next requests answer an error status,
hang, or are carried out and then answered with an error (the answer lost on the way)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from tests.support.bot import free_port

HANG_SECONDS = 3600.0
FAULT = web.RequestKey("fault", object)  # the Fault this request carries out after its effect, if any


@dataclass
class Fault:
    status: int = 503
    hang: bool = False
    after_effect: bool = False  # carry the request out first, then answer with the fault
    headers: dict[str, str] = field(default_factory=dict)
    only: str | None = None  # a method and path prefix, e.g. "POST /repos/", or any request


class Faults:
    def __init__(self) -> None:
        self.pending: list[Fault] = []
        self.hold_after_effect: asyncio.Event | None = None  # set: creations answer only once it is set
        self.effect_done = asyncio.Event()

    def add(self, fault: Fault, count: int = 1) -> None:
        self.pending.extend([fault] * count)

    def take(self, request: web.Request) -> Fault | None:
        for index, fault in enumerate(self.pending):
            if fault.only is None or f"{request.method} {request.path}".startswith(fault.only):
                return self.pending.pop(index)
        return None

    async def before(self, fault: Fault | None, body: dict[str, object]) -> web.Response | None:
        if fault is None or fault.after_effect:
            return None
        if fault.hang:
            await asyncio.sleep(HANG_SECONDS)
        return web.json_response(body, status=fault.status, headers=fault.headers)

    async def after(self, fault: Fault | None, body: dict[str, object]) -> web.Response | None:
        self.effect_done.set()
        if self.hold_after_effect is not None:
            await self.hold_after_effect.wait()
        if fault is None or not fault.after_effect:
            return None
        if fault.hang:
            await asyncio.sleep(HANG_SECONDS)
        return web.json_response(body, status=fault.status, headers=fault.headers)


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
