"""The servers under test of bench/webhook_ingest.py and its siblings: a process on a free port
that ``stop()`` always leaves gone, the bot's environment, one target's run (start, load, stop),
and a fresh PostgreSQL database per run (like tests/support/databases.py), dropped again
however the run ends."""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from bench.common import HOST, REPO, start_process, stop_process
from bench.ingest_load import Result, drive
from bench.ingest_profile import Profiler
from bench.ingest_workload import Workload

DEFAULT_POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")

# Everything started or created, so main() can clean up even if the event loop could not.
RUNNING_SERVERS: set[Server] = set()
CREATED_DATABASES: dict[str, str] = {}  # database name -> admin url


class Server:
    """A server process under test; ``stop()`` always leaves no process behind.

    ``webhook_path`` is where it takes Alertmanager's POSTs, ``health_path`` what answers 200
    once it is ready, ``cwd`` where it runs (the repository for the bot)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path, cpu: int | None, *,
                 webhook_path: str = "/alertmanager", health_path: str = "/healthz", cwd: Path = REPO,
                 start_timeout: float = 30.0) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.cpu = cpu
        self.port = int(env["PORT"])
        self.webhook_path = webhook_path
        self.health_path = health_path
        self.cwd = cwd
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        self.proc = start_process(self.argv, self.env, self.log_path, self.cpu, cwd=self.cwd)
        RUNNING_SERVERS.add(self)

    async def wait_healthy(self, timeout: float | None = None) -> None:
        assert self.proc is not None
        timeout = self.start_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.proc.returncode} before it was healthy:\n"
                                       f"{self.log_tail()}")
                try:
                    async with session.get(f"{self.base_url}{self.health_path}") as resp:
                        if resp.status == 200:
                            return
                except (TimeoutError, aiohttp.ClientError, OSError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} not healthy after {timeout:.0f}s:\n{self.log_tail()}")
                await asyncio.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM, a while for a graceful exit, then SIGKILL (:func:`bench.common.stop_process`)."""
        if self.proc is not None:
            stop_process(self.proc)
        self.proc = None
        RUNNING_SERVERS.discard(self)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return text[-chars:] or "(empty log)"


def bot_env(database_url: str, port: int, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ALERTMANAGER_", "SLACK_", "DATABASE_URL", "PLAYBOOKS_DIR", "LOG_"))}
    env.update(DATABASE_URL=database_url, PLAYBOOKS_DIR=str(REPO / "playbooks"), HOST=HOST, PORT=str(port),
               ALERTMANAGER_WEBHOOK_TOKEN=token, LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
    return env


async def run_target(name: str, server: Server, token: str, args: argparse.Namespace, warmup: Workload,
                     measured: Workload, database_pids: Callable[[], Awaitable[list[int]]] | None = None,
                     inspect: Callable[[Server], Awaitable[str]] | None = None) -> Result:
    """Start ``server``, load it, stop it; ``inspect`` (before the stop) gives a note on its state."""
    print(f"  {name}: starting server ...", flush=True)
    profiler: Profiler | None = None
    try:
        server.start()
        await server.wait_healthy()
        if args.profile is not None and name != "bare aiohttp":
            assert server.proc is not None
            profiler = Profiler(server.proc.pid, args.profile / f"{name.replace(' ', '-')}.txt")
            profiler.start()
        print(f"  {name}: {args.warmup} warm-up + {args.requests} measured deliveries at concurrency "
              f"{args.concurrency} ...", flush=True)
        result = await drive(name, f"{server.base_url}{server.webhook_path}", token, warmup.bodies, measured.bodies, args.concurrency,
                             args.max_seconds, server.proc.pid if server.proc is not None else None,
                             database_pids)
        if inspect is not None:
            result.note = await inspect(server)
    except RuntimeError as exc:  # did not start, or the warm-up failed: a failed target, not a crash
        print(f"  {name}: FAILED: {exc}", flush=True)
        return Result(name, failures=1, note=f"failed: {exc}")
    finally:
        if profiler is not None:
            profiler.stop()
        exited = server.proc.poll() if server.proc is not None else None
        server.stop()
    if profiler is not None:
        result.profile = profiler.output
    print(f"  {name}: {result.sent} deliveries in {result.elapsed:.2f}s", flush=True)
    if exited is not None:
        result.note = f"server exited with {exited} during the run"
        result.failures = max(result.failures, 1)
    return result



# ---------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------

async def postgres_backends(admin_url: str, database: str) -> list[int]:
    """The PostgreSQL server processes connected to ``database`` (the bot's pool, once warm)."""
    import asyncpg

    conn = await asyncpg.connect(_asyncpg_dsn(admin_url), timeout=3)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
    finally:
        await conn.close()
    return [int(row["pid"]) for row in rows]


def _asyncpg_dsn(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)




async def create_postgres_database(admin_url: str, name: str) -> tuple[str | None, str]:
    """(url of the fresh empty database ``name``, "") or (None, why PostgreSQL is unusable)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    try:
        conn = await asyncpg.connect(_asyncpg_dsn(admin_url), timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    try:
        CREATED_DATABASES[name] = admin_url  # before CREATE: an interruption mid-way still drops it
        await conn.execute(f'CREATE DATABASE "{name}"')
    except asyncpg.PostgresError as exc:
        return None, f"cannot create a database: {exc}"
    finally:
        await conn.close()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), ""


async def drop_postgres_database(admin_url: str, name: str) -> None:
    import asyncpg

    try:
        conn = await asyncpg.connect(_asyncpg_dsn(admin_url), timeout=3)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        print(f"warning: could not drop PostgreSQL database {name} ({type(exc).__name__}: {exc}); "
              f"drop it by hand", file=sys.stderr)
        return
    CREATED_DATABASES.pop(name, None)


async def drop_despite_cancel(admin_url: str, name: str) -> None:
    """Drop ``name`` even if this task is cancelled meanwhile; re-raise the cancellation after."""
    drop = asyncio.ensure_future(drop_postgres_database(admin_url, name))
    cancelled = False
    while not drop.done():
        try:
            await asyncio.shield(drop)
        except asyncio.CancelledError:
            cancelled = True
    drop.result()
    if cancelled:
        raise asyncio.CancelledError

