"""What the benchmarks share: the bot as a process, CPU pinning, /proc readings, a report's
header lines, and the ``--json`` results that bench/run_all.py turns into BENCHMARKS.md.

The bot against the Slack emulator (its playbook, environment and readiness) is in
bench/slack_harness.py."""

from __future__ import annotations

import asyncio
import json
import math
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
BARE_SERVER = REPO / "bench" / "bare_server.py"
USABLE_CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

_RUNNING: set[subprocess.Popen[bytes]] = set()  # for stop_all(): nothing is left behind


# ---------------------------------------------------------------------------------------
# Machine and code
# ---------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def code_version() -> str:
    """The commit under test, and whether bot/, storage/ or playbooks/ had uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "bot", "storage", "playbooks"], cwd=REPO,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (git not available)"
    if not head:
        return "unknown (not a git checkout)"
    return f"{head}" + (" + uncommitted changes in bot/, storage/ or playbooks/" if dirty else " (clean)")


def pick_cpus(pin: bool) -> tuple[int | None, int | None]:
    """(this process or the load generator, the server under test): the first and the last usable
    CPU, or (None, None) when not pinning or with a single CPU."""
    if not pin or not hasattr(os, "sched_setaffinity"):
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    return (cpus[0], cpus[-1]) if len(cpus) >= 2 else (None, None)


def pin_to(cpu: int | None) -> None:
    """Pin the calling process to ``cpu`` (no-op for None). Also a ``preexec_fn``, via
    :func:`pinned`, to pin a child before it runs."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})


def pinned(cpu: int | None) -> Callable[[], None] | None:
    """A ``preexec_fn`` pinning the child to ``cpu``, or None when not pinning."""
    return (lambda: pin_to(cpu)) if cpu is not None else None


# ---------------------------------------------------------------------------------------
# Readings from /proc
# ---------------------------------------------------------------------------------------

def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of one process (all its threads), from /proc; None if unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def run_queue_wait(pid: int) -> float | None:
    """Seconds the threads of ``pid`` have spent runnable but waiting for a CPU, summed over its
    threads (schedstat; None if unknown): the bot's threads queue for its one pinned core behind
    each other and behind any other work scheduled there."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                total += int((task / "schedstat").read_text().split()[1])
            except (OSError, IndexError, ValueError):
                continue  # a thread that just ended
    except OSError:
        return None
    return total / 1e9


@dataclass(frozen=True)
class Usage:
    """What a process used over a stretch of wall time: CPU seconds (user + system) and the
    seconds its threads waited for a CPU (see :func:`run_queue_wait`); None where unknown."""

    elapsed: float
    cpu: float | None
    wait: float | None


class UsageMeter:
    """Reads a process's CPU time and run-queue wait now; :meth:`read` gives what it used since."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.cpu = process_cpu_seconds(pid)
        self.wait = run_queue_wait(pid)
        self.started = time.monotonic()

    def read(self) -> Usage:
        elapsed = time.monotonic() - self.started
        cpu, wait = process_cpu_seconds(self.pid), run_queue_wait(self.pid)
        return Usage(elapsed, None if cpu is None or self.cpu is None else cpu - self.cpu,
                     None if wait is None or self.wait is None else wait - self.wait)


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (resident peak) of ``pid`` in KiB, from /proc/<pid>/status."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def percentile(values: list[float], q: float) -> float:
    """Nearest rank (with 50 values p99 is the maximum, with 100 the second largest)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    """``seconds`` as milliseconds with one decimal for a report, ``n/a`` for NaN (not measured)."""
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.1f}"


# ---------------------------------------------------------------------------------------
# Processes under test
# ---------------------------------------------------------------------------------------

def start_process(argv: list[str], env: dict[str, str], log: Path, cpu: int | None,
                  cwd: Path = REPO) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own session with its output in ``log``, pinned to ``cpu`` if given."""
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, preexec_fn=pinned(cpu), start_new_session=True)
    _RUNNING.add(proc)
    return proc


def start_piped_process(argv: list[str], log: Path, cpu: int | None) -> subprocess.Popen[bytes]:
    """Start ``argv`` (this process's environment) in its own session, talking to this process
    through its stdin and stdout; its stderr goes to ``log``, a file, so a chatty child can never
    block on a full pipe. :func:`stop_all` stops it too."""
    with log.open("wb") as err:
        proc = subprocess.Popen(argv, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                preexec_fn=pinned(cpu), start_new_session=True)
    _RUNNING.add(proc)
    return proc


def start_bot(env: dict[str, str], log: Path, cpu: int | None) -> subprocess.Popen[bytes]:
    """``incident-bot serve`` as a process."""
    return start_process([sys.executable, "-m", "bot.cli", "serve"], env, log, cpu)


def start_bare_server(port: int, log: Path, cpu: int | None) -> subprocess.Popen[bytes]:
    """bench/bare_server.py: a bare aiohttp app, the baseline of the bot as a process."""
    return start_process([sys.executable, str(BARE_SERVER), "--host", HOST, "--port", str(port)],
                         dict(os.environ), log, cpu)


def stop_process(proc: subprocess.Popen[bytes]) -> int | None:
    """SIGTERM, up to 15 s for a graceful exit, then SIGKILL."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    _RUNNING.discard(proc)
    return proc.returncode


def stop_all() -> None:
    """Last resort for ``main()``: stop whatever a crash left running."""
    for proc in list(_RUNNING):
        stop_process(proc)


def log_tail(log: Path, chars: int = 3000) -> str:
    try:
        return log.read_text(errors="replace")[-chars:] or "(empty log)"
    except OSError:
        return "(no log)"


async def wait_http_ok(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60,
                       interval: float = 0.1) -> float:
    """Poll ``url`` until it answers 200; returns ``time.monotonic()`` when that answer was read.
    Raises RuntimeError, with the log's tail, if the process exits first or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    connector = aiohttp.TCPConnector(force_close=True)  # a new connection per poll, as a prober makes
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=2)) as session:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{url}: the process exited with {proc.returncode}:\n{log_tail(log)}")
            try:
                async with session.get(url) as resp:
                    await resp.read()
                    if resp.status == 200:
                        return time.monotonic()
            except (TimeoutError, aiohttp.ClientError, OSError):
                pass
            await asyncio.sleep(interval)
    raise RuntimeError(f"{url}: no 200 within {timeout:.0f}s:\n{log_tail(log)}")


async def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    """Until ``url``/healthz answers 200."""
    await wait_http_ok(f"{url}/healthz", proc, log, timeout)


# ---------------------------------------------------------------------------------------
# A report's header
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Started:
    """When a benchmark run started, and the load average then."""

    at: datetime
    load: tuple[float, ...]

    @classmethod
    def now(cls) -> Started:
        return cls(datetime.now(UTC), os.getloadavg())


def print_header(title: str, started: Started, pinning: str | None) -> None:
    """The first lines of a report: the title with the start time, the machine, the load average
    before and now (with a warning when other work was running), the CPU pinning (``pinning``,
    None: none) and the code under test."""
    print()
    print(f"{title}, {started.at.strftime('%Y-%m-%d %H:%M:%S UTC')}")
    print(f"machine: nproc {os.cpu_count()} (usable {USABLE_CPUS}), {platform.machine()}, {platform.platform()}; "
          f"python {platform.python_version()}; aiohttp {aiohttp.__version__}")
    load_after = os.getloadavg()
    print(f"load average: {' '.join(f'{x:.2f}' for x in started.load)} before, "
          f"{' '.join(f'{x:.2f}' for x in load_after)} after")
    if started.load[0] > 0.5 * USABLE_CPUS:
        print("note: other work was running before this benchmark started; these numbers are noisy, run it again")
    print(f"cpu pinning: {pinning or 'none'}")
    print(f"code: {code_version()}")


# ---------------------------------------------------------------------------------------
# Machine-readable results (--json FILE), read by bench/run_all.py
# ---------------------------------------------------------------------------------------

@dataclass
class Figure:
    """One measured figure; ``baseline_value`` is measured in the same run (or derived from
    figures measured in it, as ``baseline`` says). ``met`` is None when no target applies."""

    name: str
    value: float
    unit: str
    baseline: str | None = None
    baseline_value: float | None = None
    target: str | None = None
    met: bool | None = None


@dataclass
class Results:
    benchmark: str
    setup: str = ""
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add(self, name: str, value: float, unit: str, **kwargs: Any) -> None:
        """Only finite values: a figure that was not measured is left out, not written as NaN."""
        if value is None or not math.isfinite(value):
            self.notes.append(f"{name}: not measured")
            return
        baseline_value = kwargs.get("baseline_value")
        if baseline_value is not None and not math.isfinite(baseline_value):
            kwargs["baseline_value"] = None
        self.figures.append(Figure(name, float(value), unit, **kwargs))

    def write(self, path: Path | None) -> None:
        if path is None:
            return
        data = asdict(self)
        data["code"] = code_version()
        path.write_text(json.dumps(data, indent=2) + "\n")
