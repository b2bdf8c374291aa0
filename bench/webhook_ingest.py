"""Webhook ingestion benchmark: deliveries/s and acknowledgement latency of POST /alertmanager.

What the issue asks for: 10-alert groups at concurrency 32, against the real bot on SQLite
and on PostgreSQL, and the same load against a bare aiohttp handler returning 200 in the
same run, with the ratio. Target: >= 300 deliveries/s with p99 < 100 ms on SQLite.

Every server under test is a separate process (``incident-bot serve``, or
``bench/bare_server.py`` for the baseline) started here on 127.0.0.1 and a free port, and
stopped again however the run ends. On a machine with two or more CPUs the load generator
is pinned to one CPU and the server to another (``--no-pin`` to disable).

The load generator is one ``aiohttp.ClientSession`` (one connector, ``limit`` = the
concurrency) driven by exactly ``--concurrency`` workers in a closed loop: a warm-up phase
that is not measured, then ``--requests`` measured deliveries. Latency is
``time.perf_counter()`` from sending a request to having read the whole response. Every
response must be 200; anything else is counted, printed and makes the exit status 1.

The workload (bench/ingest_workload.py) is Alertmanager-like traffic over ``--groups``
groups (distinct alertname/service; even ones ``severity=critical``, which the shipped default
playbook auto-declares, odd ones ``severity=warning``, which it only records), each delivery
carrying ``--alerts`` alerts. ``--workload fresh`` (the default, issue 18's load): every group
once per round, each delivery with alerts never seen before, so each stores ``--alerts`` new
alerts (``open``/``record`` in the first round, ``join``/``record`` after). ``--workload
mixed``: a group's first delivery is spread evenly over the run; every other delivery picks an
already-seen group at random and is either an identical re-send (Alertmanager's
repeat_interval; the bot should say ``duplicate``) or, with probability ``--update-share``,
the group's next state (its oldest alert resolved and, from the second update on, one new
alert firing). Each group has its own ``cluster`` label, so the default playbook's storm guard
never trips; ``--storm`` puts them all in one cluster. All bodies are built before anything is
timed.

Besides rate and latency, the server's CPU time per delivery (from /proc; on PostgreSQL with
that of the backends serving the bot's connections) and its multiple of bare aiohttp's, with
issue 18's targets: SQLite <= 6x bare's CPU per delivery and p99 <= 4x bare's, PostgreSQL
<= 12x.

``--profile DIR`` attaches ``py-spy record --gil`` to each bot and prints its hotspots.
See bench/README.md for the output.

    .venv/bin/python bench/webhook_ingest.py               # bare, SQLite, PostgreSQL
    .venv/bin/python bench/webhook_ingest.py --sqlite-only
    .venv/bin/python bench/webhook_ingest.py --workload mixed --sqlite-only
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.common import (  # noqa: E402
    BARE_SERVER,
    HOST,
    USABLE_CPUS,
    Results,
    code_version,
    free_port,
    pick_cpus,
    pin_to,
    process_cpu_seconds,
    start_process,
    stop_process,
)
from bench.ingest_workload import Workload, build_rounds, build_workload  # noqa: E402
from bench.interrupt import interruptible  # noqa: E402

DEFAULT_POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")

WARMUP_MAX_SECONDS = 15.0

TARGET_RATE = 300.0  # deliveries/s on SQLite
TARGET_P99_MS = 100.0
# Issue 18, as multiples of bare aiohttp's in the same run: (CPU per delivery, p99 or None).
COST_TARGETS: dict[str, tuple[float, float | None]] = {"bot sqlite": (6.0, 4.0), "bot postgresql": (12.0, None)}

# ---------------------------------------------------------------------------------------
# Workload
# ---------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------
# Servers under test
# ---------------------------------------------------------------------------------------

class Server:
    """A server process under test; ``stop()`` always leaves no process behind."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path, cpu: int | None) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.cpu = cpu
        self.port = int(env["PORT"])
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        self.proc = start_process(self.argv, self.env, self.log_path, self.cpu)
        _RUNNING_SERVERS.add(self)

    async def wait_healthy(self, timeout: float = 30.0) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.proc.returncode} before it was healthy:\n"
                                       f"{self.log_tail()}")
                try:
                    async with session.get(f"{self.base_url}/healthz") as resp:
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
        _RUNNING_SERVERS.discard(self)

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


class Profiler:
    """``py-spy record`` attached to a server for the whole load (``--profile DIR``).

    Writes py-spy's raw (collapsed-stack) format; :func:`print_hotspots` summarises it.
    Sampling pauses the server briefly per sample, so a profiled run is a little slower.
    """

    def __init__(self, pid: int, output: Path) -> None:
        self.pid = pid
        self.output = output
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        py_spy = Path(sys.executable).parent / "py-spy"
        if not py_spy.exists():
            raise RuntimeError(f"--profile needs py-spy: {sys.executable} -m pip install py-spy")
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([str(py_spy), "record", "--pid", str(self.pid), "--rate", "200", "--gil",
                                      "--format", "raw", "--output", str(self.output)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        time.sleep(1.0)  # let it attach before the load starts
        if self.proc.poll() is not None:
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
            raise RuntimeError(f"py-spy could not attach to {self.pid}: {err.strip()}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def print_hotspots(path: Path, top: int = 15) -> None:
    """Self and inclusive sample shares from a py-spy raw profile, application frames first."""
    self_samples: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short_frame(f) for f in stack.split(";")]
        frames = [f for f in frames if f]
        if not frames:
            continue
        total += count
        self_samples[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if total == 0:
        print(f"  (no samples in {path})")
        return
    by_package: Counter[str] = Counter()
    for frame, count in self_samples.items():
        by_package[_package(frame)] += count
    print(f"  {total} samples (200/s, GIL-holding thread only) in {path}")
    print("  self time by package: " + ", ".join(f"{name} {100 * count / total:.0f}%"
                                              for name, count in by_package.most_common(8)))
    print("  top self time (where the CPU was):")
    for frame, count in self_samples.most_common(top):
        print(f"    {100 * count / total:5.1f}%  {frame}")
    print("  top inclusive time in bot/ and storage/ (frame and everything it called):")
    own = [(f, c) for f, c in inclusive.most_common() if f.split(" (")[-1].startswith(("bot/", "storage/"))]
    for frame, count in own[:top]:
        print(f"    {100 * count / total:5.1f}%  {frame}")


def _package(short_frame: str) -> str:
    where = short_frame.rpartition(" (")[2]
    top = where.split("/", 1)[0] if "/" in where else where.split(":", 1)[0]
    return {"stdlib": "stdlib (asyncio etc.)"}.get(top, top)


def _short_frame(frame: str) -> str:
    """``func (/abs/.../site-packages/pkg/mod.py:12)`` -> ``func (pkg/mod.py:12)``."""
    name, sep, where = frame.strip().rpartition(" (")
    if not sep:
        return ""  # py-spy's "process ..." / "thread ..." roots
    where = where.rstrip(")")
    if "site-packages/" in where:
        where = where.split("site-packages/", 1)[1]
    elif where.startswith(str(REPO) + "/"):
        where = where[len(str(REPO)) + 1:]
    elif "/lib/python3" in where:
        where = "stdlib/" + where.split("/lib/python3", 1)[1].split("/", 1)[-1]
    return f"{name} ({where})"


# ---------------------------------------------------------------------------------------
# Load generator
# ---------------------------------------------------------------------------------------

@dataclass
class Result:
    target: str
    sent: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, of 200 responses
    failures: int = 0
    failure_samples: list[str] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    truncated: bool = False
    note: str = ""
    profile: Path | None = None
    server_cpu: float | None = None  # CPU seconds the server process used in the measured phase
    client_cpu: float | None = None  # ... and the load generator
    database_cpu: float | None = None  # ... and the PostgreSQL backends serving it

    @property
    def cpu_ms_per_delivery(self) -> float | None:
        """The server's CPU (with its PostgreSQL backends', when measured) per delivery, in ms."""
        if self.server_cpu is None or not self.sent:
            return None
        return 1000 * (self.server_cpu + (self.database_cpu or 0.0)) / self.sent

    def cpu_share(self, seconds: float | None) -> str:
        return f"{100 * seconds / self.elapsed:.0f}%" if seconds is not None and self.elapsed > 0 else "?"

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed if self.elapsed > 0 else 0.0

    def percentile_ms(self, q: float) -> float:
        """Nearest-rank percentile of the successful requests, in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000


async def _phase(session: aiohttp.ClientSession, url: str, headers: dict[str, str], bodies: list[bytes],
                 concurrency: int, result: Result | None, max_seconds: float) -> None:
    """Send ``bodies`` with exactly ``concurrency`` workers; record into ``result`` if given."""
    positions = iter(range(len(bodies)))  # shared: each worker takes the next delivery
    started = time.perf_counter()
    deadline = started + max_seconds
    stopped_early = False

    async def worker() -> None:
        nonlocal stopped_early
        for i in positions:
            if time.perf_counter() > deadline:
                stopped_early = True
                return
            body = bodies[i]
            sent_at = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as resp:
                    answer = await resp.read()
                    done_at = time.perf_counter()
                    status = resp.status
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                if result is not None:
                    result.sent += 1
                    result.failures += 1
                    if len(result.failure_samples) < 5:
                        result.failure_samples.append(f"{type(exc).__name__}: {exc}")
                else:
                    raise RuntimeError(f"warm-up request failed: {type(exc).__name__}: {exc}") from exc
                continue
            if result is None:
                if status != 200:
                    raise RuntimeError(f"warm-up request answered {status}: {answer[:300]!r}")
                continue
            result.sent += 1
            if status != 200:
                result.failures += 1
                if len(result.failure_samples) < 5:
                    result.failure_samples.append(f"HTTP {status}: {answer[:300].decode(errors='replace')}")
                continue
            result.latencies.append(done_at - sent_at)
            try:
                result.outcomes[str(json.loads(answer).get("outcome"))] += 1
            except (ValueError, AttributeError):
                result.outcomes["unparseable"] += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    if result is not None:
        result.elapsed = time.perf_counter() - started
        result.truncated = stopped_early


async def drive(target: str, base_url: str, token: str, warmup: list[bytes], measured: list[bytes],
                concurrency: int, max_seconds: float, server_pid: int | None = None,
                database_pids: Callable[[], Awaitable[list[int]]] | None = None) -> Result:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    url = f"{base_url}/alertmanager"
    result = Result(target)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        if warmup:
            await _phase(session, url, headers, warmup, concurrency, None, min(WARMUP_MAX_SECONDS, max_seconds))
        backends = await database_pids() if database_pids is not None else []
        database_before = {pid: process_cpu_seconds(pid) for pid in backends}
        cpu_before = process_cpu_seconds(server_pid) if server_pid else None
        client_before = time.process_time()
        await _phase(session, url, headers, measured, concurrency, result, max_seconds)
        cpu_after = process_cpu_seconds(server_pid) if server_pid else None
        result.client_cpu = time.process_time() - client_before
        database_after = {pid: process_cpu_seconds(pid) for pid in backends}
    if cpu_before is not None and cpu_after is not None:
        result.server_cpu = cpu_after - cpu_before
    if backends:  # a backend that ended mid-run takes its CPU along: counted up to its last reading
        result.database_cpu = sum((database_after[pid] or database_before[pid] or 0.0) - (database_before[pid] or 0.0)
                                  for pid in backends)
    return result


async def postgres_backends(admin_url: str, database: str) -> list[int]:
    """The PostgreSQL server processes connected to ``database`` (the bot's pool, once warm)."""
    import asyncpg

    conn = await asyncpg.connect(_asyncpg_dsn(admin_url), timeout=3)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
    finally:
        await conn.close()
    return [int(row["pid"]) for row in rows]


# ---------------------------------------------------------------------------------------
# PostgreSQL: a fresh database per run, like tests/support/databases.py
# ---------------------------------------------------------------------------------------

def _asyncpg_dsn(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# Everything started or created, so main() can clean up even if the event loop could not.
_RUNNING_SERVERS: set[Server] = set()
_CREATED_DATABASES: dict[str, str] = {}  # database name -> admin url


async def create_postgres_database(admin_url: str, name: str) -> tuple[str | None, str]:
    """(url of the fresh empty database ``name``, "") or (None, why PostgreSQL is unusable)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    try:
        conn = await asyncpg.connect(_asyncpg_dsn(admin_url), timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    try:
        _CREATED_DATABASES[name] = admin_url  # before CREATE: an interruption mid-way still drops it
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
    _CREATED_DATABASES.pop(name, None)


async def _drop_despite_cancel(admin_url: str, name: str) -> None:
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


# ---------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------

async def run_target(name: str, server: Server, token: str, args: argparse.Namespace, warmup: Workload,
                     measured: Workload, database_pids: Callable[[], Awaitable[list[int]]] | None = None) -> Result:
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
        result = await drive(name, server.base_url, token, warmup.bodies, measured.bodies, args.concurrency,
                             args.max_seconds, server.proc.pid if server.proc is not None else None,
                             database_pids)
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


def print_report(results: list[Result], skipped: dict[str, str], args: argparse.Namespace, workload: Workload,
                 pins: tuple[int | None, int | None], started: datetime, load_before: tuple[float, ...]) -> None:
    bare = next((r for r in results if r.target == "bare aiohttp"), None)
    print()
    print(f"incident-bot webhook ingestion benchmark, {started.strftime('%Y-%m-%d %H:%M:%S UTC')}")
    print(f"machine: nproc {os.cpu_count()} (usable {USABLE_CPUS}), {platform.machine()}, {platform.platform()}; "
          f"python {platform.python_version()}; aiohttp {aiohttp.__version__}")
    load_after = os.getloadavg()
    print(f"load average: {' '.join(f'{x:.2f}' for x in load_before)} before, "
          f"{' '.join(f'{x:.2f}' for x in load_after)} after")
    if load_before[0] > 0.5 * (USABLE_CPUS or 1):
        print("note: other work was running before this benchmark started; these numbers are noisy, run it again")
    client_cpu, server_cpu = pins
    print("cpu pinning: " + (f"load generator on cpu {client_cpu}, server under test on cpu {server_cpu} "
                             f"(PostgreSQL itself unpinned)" if client_cpu is not None else "none"))
    print(f"code: {code_version()}")
    print(f"load: {args.requests} measured deliveries after {args.warmup} warm-up, concurrency {args.concurrency} "
          f"(closed loop), {args.alerts} alerts per group, ~{len(workload.bodies[0]) // 1024} KiB per body, "
          f"{workload.groups} groups (half critical -> auto-declared, half warning -> recorded), "
          + ("all in one cluster (--storm: the storm guard merges new critical groups)" if args.storm
             else "one cluster each (the storm guard never trips)"))
    print("planned mix: " + ", ".join(f"{k} {v}" for k, v in sorted(workload.planned.items())))
    print()
    header = (f"{'target':<16}{'deliveries/s':>14}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'ratio vs bare':>15}"
              f"{'failures':>10}{'server cpu':>12}{'client cpu':>12}{'cpu ms/deliv':>14}{'x bare':>8}")
    print(header)
    print("-" * len(header))
    for r in results:
        ratio = f"{r.rate / bare.rate:.3f}" if bare is not None and bare.rate > 0 else "n/a"
        print(f"{r.target:<16}{r.rate:>14.1f}{r.percentile_ms(0.50):>9.1f}{r.percentile_ms(0.99):>9.1f}"
              f"{r.percentile_ms(1.0):>9.1f}{ratio:>15}{r.failures:>10}{r.cpu_share(r.server_cpu):>12}"
              f"{r.cpu_share(r.client_cpu):>12}{_ms(r.cpu_ms_per_delivery):>14}{_times(r, bare):>8}")
    for name, why in skipped.items():
        print(f"{name:<16}  skipped: {why}")
    print("(server/client cpu: CPU time of that process in the measured phase / wall time; 100% = one core "
          "busy; cpu ms/deliv: the server's CPU per delivery, on PostgreSQL with that of the backends serving "
          "the bot's connections; x bare: that over bare aiohttp's)")
    print()
    for r in results:
        if r.target != "bare aiohttp":
            mix = ", ".join(f"{k} {v}" for k, v in sorted(r.outcomes.items(), key=lambda kv: -kv[1]))
            print(f"{r.target} outcomes: {mix}")
        if r.truncated:
            print(f"{r.target}: stopped after --max-seconds {args.max_seconds:g}; only {r.sent} deliveries sent")
        if r.note:
            print(f"{r.target}: {r.note}")
        for sample in r.failure_samples:
            print(f"{r.target} failure: {sample}")
    for r in results:
        if r.profile is not None and r.profile.exists():
            print(f"\n{r.target} profile (py-spy):")
            print_hotspots(r.profile)
    sqlite = next((r for r in results if r.target == "bot sqlite"), None)
    if sqlite is not None:
        met = sqlite.rate >= TARGET_RATE and sqlite.percentile_ms(0.99) < TARGET_P99_MS and sqlite.failures == 0
        print(f"SQLite target (>= {TARGET_RATE:.0f} deliveries/s and p99 < {TARGET_P99_MS:.0f} ms): "
              f"{'MET' if met else 'NOT MET'} ({sqlite.rate:.1f}/s, p99 {sqlite.percentile_ms(0.99):.1f} ms)")
    for r in results:
        for name, value, limit in _cost_targets(r, bare):
            print(f"{r.target}: {name} <= {limit:g}x bare aiohttp's: {'MET' if value <= limit else 'NOT MET'} "
                  f"({value:.2f}x)")


def _ms(value: float | None) -> str:
    return f"{value:.3f}" if value is not None else "?"


def _times(r: Result, bare: Result | None) -> str:
    ratio = _cpu_ratio(r, bare)
    return f"{ratio:.2f}" if ratio is not None else "n/a"


def _cpu_ratio(r: Result, bare: Result | None) -> float | None:
    if bare is None or r is bare or bare.cpu_ms_per_delivery is None or r.cpu_ms_per_delivery is None:
        return None
    return r.cpu_ms_per_delivery / bare.cpu_ms_per_delivery if bare.cpu_ms_per_delivery > 0 else None


def _cost_targets(r: Result, bare: Result | None) -> list[tuple[str, float, float]]:
    """(figure, value as a multiple of bare aiohttp's, the most it may be) of issue 18's targets."""
    limits = COST_TARGETS.get(r.target)
    ratio = _cpu_ratio(r, bare)
    if limits is None or ratio is None or bare is None or not r.latencies or not bare.latencies:
        return []
    out = [("CPU per delivery", ratio, limits[0])]
    if limits[1] is not None:
        out.append(("p99", r.percentile_ms(0.99) / bare.percentile_ms(0.99), limits[1]))
    return out


async def main_async(args: argparse.Namespace) -> int:
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    client_cpu, server_cpu = pick_cpus(not args.no_pin)
    pin_to(client_cpu)

    # Every body is built before anything is timed.
    measured, warmup = workloads(args)
    token = secrets.token_urlsafe(24)
    results: list[Result] = []
    skipped: dict[str, str] = {}

    with tempfile.TemporaryDirectory(prefix="incident-bot-bench-") as tmp:
        tmpdir = Path(tmp)
        print(f"webhook ingestion benchmark: logs and SQLite file in {tmpdir} (removed at the end)", flush=True)

        bare_env = {**os.environ, "PORT": str(free_port())}
        bare = Server("bare aiohttp", [sys.executable, str(BARE_SERVER), "--host", HOST, "--port", bare_env["PORT"]],
                      bare_env, tmpdir / "bare.log", server_cpu)
        results.append(await run_target("bare aiohttp", bare, token, args, warmup, measured))

        sqlite_url = f"sqlite+aiosqlite:///{tmpdir / 'bench.db'}"
        bot = Server("bot sqlite", [sys.executable, "-m", "bot.cli", "serve"],
                     bot_env(sqlite_url, free_port(), token), tmpdir / "bot-sqlite.log", server_cpu)
        results.append(await run_target("bot sqlite", bot, token, args, warmup, measured))
        if bot.log_path.exists() and bot.log_path.stat().st_size and args.show_logs:
            print(f"--- bot sqlite log (tail) ---\n{bot.log_tail()}")

        if args.sqlite_only:
            skipped["bot postgresql"] = "--sqlite-only"
        else:
            pg_name = f"incident_bot_bench_{uuid.uuid4().hex[:10]}"
            try:
                pg_url, why = await create_postgres_database(args.postgres_url, pg_name)
                if pg_url is None:
                    skipped["bot postgresql"] = (f"PostgreSQL unreachable at {args.postgres_url.split('@')[-1]} "
                                                 f"({why})")
                    print(f"  bot postgresql: skipped ({skipped['bot postgresql']})", flush=True)
                else:
                    env = bot_env(pg_url, free_port(), token)
                    upgrade = subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], env=env, cwd=REPO,
                                             capture_output=True, text=True, timeout=120)
                    if upgrade.returncode != 0:
                        note = f"incident-bot db upgrade failed: {(upgrade.stdout + upgrade.stderr).strip()}"
                        print(f"  bot postgresql: FAILED: {note}", flush=True)
                        results.append(Result("bot postgresql", failures=1, note=note))
                    else:
                        bot = Server("bot postgresql", [sys.executable, "-m", "bot.cli", "serve"], env,
                                     tmpdir / "bot-postgresql.log", server_cpu)
                        results.append(await run_target(
                            "bot postgresql", bot, token, args, warmup, measured,
                            lambda: postgres_backends(args.postgres_url, pg_name)))
            finally:
                if pg_name in _CREATED_DATABASES:
                    await _drop_despite_cancel(args.postgres_url, pg_name)

    print_report(results, skipped, args, measured, (client_cpu, server_cpu), started, load_before)
    json_results(results, skipped, args).write(args.json)
    return 1 if any(r.failures for r in results) else 0


def workloads(args: argparse.Namespace) -> tuple[Workload, Workload]:
    """The measured deliveries and the warm-up's (other groups), as ``--workload`` says."""
    if args.workload == "fresh":
        measured = build_rounds(prefix="svc", requests=args.requests, groups=args.groups, alerts=args.alerts,
                                seed=args.seed, storm=args.storm)
        warmup = build_rounds(prefix="warmup", requests=args.warmup, groups=max(1, args.warmup // 4),
                              alerts=args.alerts, seed=args.seed + 1, storm=args.storm)
        return measured, warmup
    measured = build_workload(prefix="svc", requests=args.requests, groups=args.groups, alerts=args.alerts,
                              update_share=args.update_share, seed=args.seed, storm=args.storm)
    warmup = build_workload(prefix="warmup", requests=args.warmup, groups=max(1, args.warmup // 10),
                            alerts=args.alerts, update_share=args.update_share, seed=args.seed + 1,
                            storm=args.storm) if args.warmup > 0 else Workload([], Counter(), 0)
    return measured, warmup


def json_results(results: list[Result], skipped: dict[str, str], args: argparse.Namespace) -> Results:
    out = Results("webhook_ingest", f"{args.requests} deliveries after {args.warmup} warm-up, concurrency "
                  f"{args.concurrency} (closed loop), {args.alerts} alerts per group, {args.groups} groups")
    bare = next((r for r in results if r.target == "bare aiohttp" and r.latencies), None)
    baseline = "bare aiohttp, same load" if bare is not None else None
    for r in results:
        if r.failures:
            out.failures.append(f"{r.target}: {r.failures} failed"
                                + (f" ({r.failure_samples[0]})" if r.failure_samples else "")
                                + (f"; {r.note}" if r.note else ""))
        if r.target == "bare aiohttp" or not r.latencies:
            continue
        sqlite = r.target == "bot sqlite"
        rate_target = {"target": f">= {TARGET_RATE:.0f}/s (with p99 < {TARGET_P99_MS:.0f} ms)",
                       "met": r.rate >= TARGET_RATE and r.failures == 0} if sqlite else {}
        p99_target = {"target": f"< {TARGET_P99_MS:.0f} ms (with >= {TARGET_RATE:.0f}/s)",
                      "met": r.percentile_ms(0.99) < TARGET_P99_MS and r.failures == 0} if sqlite else {}
        out.add(f"{r.target}: deliveries/s", r.rate, "/s", baseline=baseline,
                baseline_value=bare.rate if bare else None, **rate_target)
        out.add(f"{r.target}: acknowledgement p50", r.percentile_ms(0.5), "ms", baseline=baseline,
                baseline_value=bare.percentile_ms(0.5) if bare else None)
        out.add(f"{r.target}: acknowledgement p99", r.percentile_ms(0.99), "ms", baseline=baseline,
                baseline_value=bare.percentile_ms(0.99) if bare else None, **p99_target)
        for figure, value, limit in _cost_targets(r, bare):
            out.add(f"{r.target}: {figure} / bare aiohttp's", value, "x", target=f"<= {limit:g}x", met=value <= limit)
        if r.truncated:
            out.notes.append(f"{r.target}: stopped after --max-seconds {args.max_seconds:g}; {r.sent} deliveries sent")
    if bare is not None:
        out.notes.append(f"bare aiohttp: {bare.rate:.1f} deliveries/s, p50 {bare.percentile_ms(0.5):.1f} ms, "
                         f"p99 {bare.percentile_ms(0.99):.1f} ms")
    out.notes.extend(f"{name} skipped: {why}" for name, why in skipped.items())
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Webhook ingestion benchmark: bare aiohttp vs the bot on SQLite "
                                     "and PostgreSQL, deliveries/s and p50/p99 acknowledgement latency.")
    parser.add_argument("--requests", type=int, default=3000, help="measured deliveries per target (default 3000)")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured warm-up deliveries (default 200)")
    parser.add_argument("--concurrency", type=int, default=32, help="workers and connector limit (default 32)")
    parser.add_argument("--alerts", type=int, default=10, help="alerts per group (default 10)")
    parser.add_argument("--groups", type=int, default=300, help="distinct groups in the measured run (default 300)")
    parser.add_argument("--workload", choices=("fresh", "mixed"), default="fresh",
                        help="fresh (default): every group once per round, each delivery with --alerts alerts never "
                        "seen before; mixed: first deliveries, identical re-sends and updates (--update-share)")
    parser.add_argument("--update-share", type=float, default=0.3,
                        help="share of repeat deliveries that change the group's alerts (default 0.3)")
    parser.add_argument("--seed", type=int, default=1, help="workload random seed (default 1)")
    parser.add_argument("--storm", action="store_true",
                        help="put every group in one cluster, so the default playbook's storm guard makes most "
                        "new critical groups join one storm incident (default: one cluster per group)")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_ADMIN_URL,
                        help="admin URL used to create and drop a fresh database "
                        "(default $TEST_POSTGRES_URL or postgresql+asyncpg://postgres@127.0.0.1:5432/test)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin client and server to separate CPUs")
    parser.add_argument("--max-seconds", type=float, default=45.0,
                        help="stop the measured phase of a target after this long (the warm-up after 15 s), so "
                        "a slow target cannot stretch the run; the report says when it happened (default 45)")
    parser.add_argument("--show-logs", action="store_true", help="print the tail of the bot's log")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="attach py-spy to each bot during its load, write DIR/<target>.txt (raw collapsed "
                        "stacks) and print the hotspots; numbers of a profiled run are a little lower")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures to FILE (for run_all.py)")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1 or args.alerts < 1 or args.warmup < 0:
        parser.error("--requests, --concurrency and --alerts must be >= 1, --warmup >= 0")
    if not 0.0 <= args.update_share <= 1.0:
        parser.error("--update-share must be between 0 and 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(interruptible(lambda: main_async(args), "servers stopped, temporary data removed"))
    finally:  # normally nothing is left; this covers a crash that skipped the async clean-up
        for server in list(_RUNNING_SERVERS):
            server.stop()
        for name, admin_url in list(_CREATED_DATABASES.items()):
            asyncio.run(drop_postgres_database(admin_url, name))


if __name__ == "__main__":
    sys.exit(main())
