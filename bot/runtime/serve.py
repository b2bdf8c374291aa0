"""``incident-bot serve``: configure logging, build the app and run it until SIGTERM."""

from __future__ import annotations

import asyncio
import gc
import os
import sys

import structlog
from aiohttp import web

from bot import __version__
from bot.observability.logs import configure_logging
from bot.playbook import PlaybookError, load_playbooks
from bot.runtime.app import create_app
from bot.settings import Settings
from storage.database import describe_url
from storage.errors import SchemaOutOfDate, StorageUnavailable

log = structlog.get_logger("bot.runtime.serve")


def serve(settings: Settings) -> int:
    _fewer_malloc_arenas()
    configure_logging(settings.log_level, settings.log_format, settings.secret_values())
    try:
        playbooks = load_playbooks(settings.playbooks_dir)
    except PlaybookError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print("refusing to start: fix the playbooks (`incident-bot check` lists the problems)", file=sys.stderr)
        return 1
    log.info(
        "starting incident-bot", version=__version__, database=describe_url(settings.database_url),
        playbooks=len(playbooks.playbooks), slack_api=settings.slack_api_url,
        mode="socket" if settings.slack_app_token else "http", listen=f"{settings.host}:{settings.port}",
    )
    app = create_app(settings, playbooks=playbooks)
    app.on_startup.append(_freeze_startup_heap)  # after the lifetimes: every long-lived part exists by then
    try:
        web.run_app(app, host=settings.host, port=settings.port, print=None, access_log=None,
                    shutdown_timeout=10, loop=_event_loop())
    except SchemaOutOfDate as exc:
        print(f"refusing to start: {exc}", file=sys.stderr)
        return 1
    except StorageUnavailable as exc:
        print(f"refusing to start: database {describe_url(settings.database_url)} unavailable ({exc})",
              file=sys.stderr)
        return 1
    log.info("incident-bot stopped")
    return 0


def _event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop (libuv), where asyncio's own would do the same work in Python: the
    bot's CPU per webhook delivery 0.833 -> 0.812 ms untraced and 0.919 -> 0.874 ms with every
    trace exported (bench/thread_cpu.py, 3 x 3,000; bench/README.md)."""
    import uvloop

    return uvloop.new_event_loop()


M_ARENA_MAX = -8  # glibc's mallopt parameter, as MALLOC_ARENA_MAX sets it
MALLOC_ARENAS = 2


def _fewer_malloc_arenas() -> None:
    """glibc gives a thread that allocates while another holds an arena one of its own, up to
    8 per core, and an arena keeps what it once held: the aiosqlite and writer threads' SQLite
    page caches and the executor's threads left about 1 MiB resident each, some 8 MiB in all
    on a busy bot (bench/resident_memory.py). Two arenas hold the same work. Before any
    thread starts; an operator's MALLOC_ARENA_MAX wins."""
    try:
        glibc = (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (ValueError, OSError):
        glibc = False
    if not glibc or os.environ.get("MALLOC_ARENA_MAX"):
        return
    import ctypes

    try:
        ctypes.CDLL(None).mallopt(M_ARENA_MAX, MALLOC_ARENAS)
    except (OSError, AttributeError):
        return


# Python's default, 700, collects the young generation every few webhook deliveries (each
# allocates hundreds of tracked objects, and a traced one keeps its span's until the batch is
# exported): 10,000 cut the bot's CPU per delivery by 2-3%, traced or not (bench/README.md).
YOUNG_OBJECTS = 10_000


async def _freeze_startup_heap(_app: web.Application) -> None:
    """Move what start-up built (modules, playbooks, compiled statements and templates) out of
    the garbage collector's reach: it lives as long as the process, and a full collection
    that walks it all pauses every request in flight (about 100 ms seen under webhook load).
    No collection first: it would delay readiness by as much, to free some 2,000 cycles (under
    1 MiB) left by imports. ``incident-bot serve`` starts with collection off (see
    ``cmd_serve``); it is on from here, with a young generation of :data:`YOUNG_OBJECTS`."""
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_OBJECTS, middle, oldest)
    gc.enable()
