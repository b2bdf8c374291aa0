"""``incident-bot serve``'s start-up, step by step, with the time each step ended: run by
bench/startup_phases.py as ``python -m bench.startup_probe`` in a fresh interpreter, in the
bot's environment.

It does what ``cmd_serve`` and ``serve`` do, in their order and with the same functions
(collection off, settings, logging, playbooks, ``create_app``, the start-up freeze), but runs
the app with an ``AppRunner`` so it can note when each step ended; ``prepare_schema`` is
wrapped to note when the database was open and its schema checked. Once listening it prints
``STARTUP_PHASES {json}``: ``time.monotonic()`` at each step's end (the clock is the
machine's, so the parent compares it with its own), and ``STARTUP_MODULES {json}``: the
modules loaded by then, in the order they were, and keeps serving until SIGTERM.
"""

import time

STARTED = time.monotonic()  # the interpreter is up: the first line this module runs

import asyncio  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

MARKS: list[tuple[str, float]] = [("interpreter", STARTED)]


def mark(step: str) -> None:
    MARKS.append((step, time.monotonic()))


gc.disable()  # as cmd_serve does, before the imports

import bot.cli.main  # noqa: E402, F401  (the command line: argparse, settings)

mark("import bot.cli")

from aiohttp import web  # noqa: E402

from bot.observability.logs import configure_logging  # noqa: E402
from bot.playbook import load_playbooks  # noqa: E402
from bot.runtime import serve as serve_module  # noqa: E402
from bot.runtime import services  # noqa: E402
from bot.settings import Settings  # noqa: E402

mark("import bot.runtime.serve")


def _timed_schema() -> None:
    prepare = services.prepare_schema

    async def prepare_schema(db: services.Database) -> None:
        mark("database engine made")
        await prepare(db)
        mark("database opened, schema checked")

    services.prepare_schema = prepare_schema


async def _serve(app: web.Application, host: str, port: int) -> None:
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=10)
    await runner.setup()
    mark("services started (outbox, timers, scheduler)")
    site = web.TCPSite(runner, host, port)
    await site.start()
    mark("listening")
    print("STARTUP_PHASES " + json.dumps(MARKS), flush=True)
    print("STARTUP_MODULES " + json.dumps(list(sys.modules)), flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> int:
    settings = Settings()
    mark("settings")
    serve_module._fewer_malloc_arenas()
    configure_logging(settings.log_level, settings.log_format, settings.secret_values())
    mark("logging configured")
    playbooks = load_playbooks(settings.playbooks_dir)
    mark("playbooks loaded")
    _timed_schema()
    app = serve_module.create_app(settings, playbooks=playbooks)
    app.on_startup.append(serve_module._freeze_startup_heap)
    mark("app built (create_app)")
    asyncio.run(_serve(app, settings.host, settings.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
