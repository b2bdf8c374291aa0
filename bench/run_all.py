"""Run every benchmark and write BENCHMARKS.md: the machine, the date, the commit, and each
figure with its baseline from the same run, the ratio, and the issue's targets met or not.

Each benchmark runs as its own subprocess with ``--json FILE``, so one that fails or hangs
(``timeout``, then SIGTERM to its process group, which stops what it started) is reported
with its exit status and the tail of its output, and the others still run.

    .venv/bin/python bench/run_all.py                        # everything: 7 minutes on this 2-core machine
    .venv/bin/python bench/run_all.py --quick                # smaller sizes: a smoke run, not the figures
    .venv/bin/python bench/run_all.py --only postmortem,startup_time --output /tmp/b.md
    .venv/bin/python bench/run_all.py --only webhook_ingest --impulse   # and side by side with IMPulse
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.benchmarks_md import render  # noqa: E402
from bench.impulse import DEFAULT_SOURCE as IMPULSE_SOURCE  # noqa: E402
from bench.results import Benchmark, Outcome, Run  # noqa: E402

OUTPUT_TAIL_LINES = 40
DEFAULT_POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


BENCHMARKS = (
    Benchmark("webhook_ingest", "Webhook ingest: the bot on SQLite and PostgreSQL against bare aiohttp",
              ("--requests", "300", "--warmup", "30", "--groups", "30", "--max-seconds", "20"), 420),
    Benchmark("tracing_overhead", "Tracing overhead: webhook ingest exporting every trace over OTLP against tracing off",
              ("--requests", "300", "--warmup", "30", "--rounds", "1", "--max-seconds", "20"), 300),
    Benchmark("slash_ack", "Slash-command acknowledgement under webhook load",
              ("--baseline-seconds", "4", "--load-seconds", "6", "--ramp", "1", "--note-incidents", "2"), 240),
    Benchmark("slack_delivery", "Alert to pinned header in Slack",
              ("--incidents", "10", "--warmup", "1", "--max-seconds", "20"), 240),
    Benchmark("scheduler_lag", "Scheduler lag: reminders due at once across open incidents",
              ("--incidents", "100", "--max-seconds", "60"), 300),
    Benchmark("postmortem", "Postmortem rendering of large incidents",
              ("--sizes", "5000,50000", "--repeat", "1"), 240),
    Benchmark("resident_memory", "Resident memory with open incidents",
              ("--incidents", "100", "--settle", "1"), 240),
    Benchmark("startup_time", "Start-up time", ("--runs", "2"), 240),
    Benchmark("web_pages", "Web workspace pages: the incident page and the incidents list against the database's size",
              ("--events", "5000", "--incidents", "1000", "--requests", "10", "--warmup", "2"), 300),
)
BY_NAME = {b.name: b for b in BENCHMARKS}
# Not in the default run: it fetches IMPulse (from GitHub, or a local mirror) and pip-installs it.
IMPULSE = Benchmark("impulse", "Webhook ingest side by side with IMPulse (fetched at run time): the bot on SQLite "
                    "against IMPulse on the same load", ("--requests", "300", "--warmup", "30", "--groups", "30",
                                                         "--max-seconds", "20", "--repeat", "1"), 900,
                    script_name="webhook_ingest", args=("--repeat", "3"))


# ---------------------------------------------------------------------------------------
# Running one benchmark
# ---------------------------------------------------------------------------------------

def run_benchmark(benchmark: Benchmark, args: list[str], timeout: float, verbose: bool = False,
                  command: list[str] | None = None) -> Outcome:
    """Run ``bench/<name>.py args --json FILE`` (or ``command``, for tests) and collect what it wrote."""
    with tempfile.TemporaryDirectory(prefix="bench-run-all-") as tmp:
        json_path = Path(tmp) / "results.json"
        argv = command or [sys.executable, str(benchmark.script.relative_to(REPO)), *benchmark.args, *args]
        outcome = Outcome(benchmark, [python_shown(), *argv[1:]])
        started = time.monotonic()
        proc = subprocess.Popen([*argv, "--json", str(json_path)] if command is None else argv, cwd=REPO,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        lines: list[str] = []
        reader = threading.Thread(target=_collect, args=(proc, lines, verbose), daemon=True)
        reader.start()
        try:
            outcome.exit_status = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop_group(proc)
            outcome.problem = f"stopped after its timeout of {timeout:.0f}s"
        except BaseException:  # Ctrl-C: stop the benchmark (it cleans up on SIGTERM), then stop
            _stop_group(proc)
            raise
        finally:
            reader.join(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()
        outcome.seconds = time.monotonic() - started
        outcome.output = "".join(lines)
        if json_path.exists():
            try:
                outcome.results = json.loads(json_path.read_text())
            except ValueError as exc:
                outcome.problem = f"its --json file is not JSON ({exc})"
        elif not outcome.problem:
            outcome.problem = f"exit status {outcome.exit_status} and no results written"
    return outcome


def _collect(proc: subprocess.Popen[bytes], lines: list[str], verbose: bool) -> None:
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = raw.decode(errors="replace")
        lines.append(line)
        if verbose:
            sys.stdout.write("    " + line)
            sys.stdout.flush()


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the benchmark's process group (it stops its bots and removes its files), then SIGKILL."""
    for sig, wait in ((signal.SIGTERM, 60), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


# ---------------------------------------------------------------------------------------
# The machine and the code
# ---------------------------------------------------------------------------------------

def machine() -> dict[str, str]:
    import sqlite3

    import aiohttp
    import sqlalchemy

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "CPU": _cpu_model(),
        "CPUs": f"{os.cpu_count()} (nproc; {usable} usable by this run)",
        "Memory": _memory_total(),
        "Kernel": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "OS": _os_name(),
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
        "SQLite": f"{sqlite3.sqlite_version} (the library Python's sqlite3 module uses)",
        "PostgreSQL": _postgres_version(DEFAULT_POSTGRES_URL),
        "aiohttp, SQLAlchemy": f"{aiohttp.__version__}, {sqlalchemy.__version__}",
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Hardware", "Processor") and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return "unknown"


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.platform()


def _postgres_version(url: str) -> str:
    """The server's version, asked at ``url`` ($TEST_POSTGRES_URL, as webhook_ingest.py uses)."""
    from sqlalchemy.engine import make_url

    async def ask() -> str:
        import asyncpg  # type: ignore[import-untyped]  # no type information published

        conn = await asyncpg.connect(make_url(url).set(drivername="postgresql")
                                     .render_as_string(hide_password=False), timeout=3)
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    where = f"{make_url(url).host}:{make_url(url).port or 5432}"
    try:
        return f"{asyncio.run(ask())} (server at {where})"
    except Exception as exc:  # noqa: BLE001 - asyncpg, OS and timeout errors alike: the report says why
        return f"unreachable at {where} ({type(exc).__name__}: {exc})"


def git_state() -> str:
    """The commit, and whether the tree had changes (BENCHMARKS.md itself not counted)."""
    def git(*argv: str) -> str:
        return subprocess.run(["git", *argv], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip()

    try:
        head = git("rev-parse", "HEAD")
        changes = [line for line in git("status", "--porcelain").splitlines()
                   if line[3:].strip() != "BENCHMARKS.md"]
    except (OSError, subprocess.SubprocessError):
        return "unknown (git not available)"
    if not head:
        return "unknown (not a git checkout)"
    if not changes:
        return f"`{head}` (clean tree)"
    untracked = sum(1 for line in changes if line.startswith("??"))
    return (f"`{head}` with uncommitted changes ({len(changes) - untracked} changed, {untracked} untracked "
            f"file(s)), so the code measured is not exactly that commit")


def python_shown() -> str:
    """This interpreter as a command run from the repository root would name it."""
    try:
        return str(Path(sys.executable).relative_to(REPO))
    except ValueError:
        return sys.executable


def shown_command(argv: list[str]) -> str:
    return shlex.join([python_shown(), *argv])


# ---------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes and shorter phases: a smoke run whose figures are not the issue's")
    parser.add_argument("--only", metavar="NAMES",
                        help=f"comma-separated benchmarks to run (default all: {', '.join(BY_NAME)})")
    parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md",
                        help="where to write the Markdown (default BENCHMARKS.md at the repository root)")
    parser.add_argument("--verbose", action="store_true", help="show each benchmark's output as it runs")
    parser.add_argument("--impulse", nargs="?", const=IMPULSE_SOURCE, metavar="SOURCE",
                        help="also run webhook_ingest.py --impulse SOURCE (not in the default run: it needs "
                        f"GitHub, default {IMPULSE_SOURCE}, or a local checkout or mirror, and PyPI)")
    args = parser.parse_args(argv)
    if args.only is not None:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in BY_NAME and not (n == IMPULSE.name and args.impulse is not None)]
        if unknown or not names:
            parser.error(f"--only: unknown benchmark(s) {', '.join(unknown) or '(none given)'}; "
                         f"choose from {', '.join(BY_NAME)} (and {IMPULSE.name} with --impulse)")
        args.selected = [BY_NAME[n] for n in names if n in BY_NAME]
    else:
        args.selected = list(BENCHMARKS)
    if args.impulse is not None:
        args.selected.append(replace(IMPULSE, args=(*IMPULSE.args, "--impulse", args.impulse)))
    return args


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM like Ctrl-C: the running benchmark is stopped and cleans up


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    run = Run(shown_command(sys.argv if argv is None else ["bench/run_all.py", *argv]), args.quick,
              datetime.now(UTC), git_state(), machine(), os.getloadavg())
    started = time.monotonic()
    print(f"running {len(args.selected)} benchmark(s){' (quick)' if args.quick else ''}; "
          f"writing {args.output}", flush=True)
    try:
        for i, benchmark in enumerate(args.selected, 1):
            print(f"[{i}/{len(args.selected)}] {benchmark.name} ...", flush=True)
            extra = list(benchmark.quick) if args.quick else []
            timeout = benchmark.timeout / 2 if args.quick else benchmark.timeout
            outcome = run_benchmark(benchmark, extra, timeout, args.verbose)
            run.outcomes.append(outcome)
            status = (f"FAILED: {outcome.problem}" if outcome.failed
                      else f"{len(outcome.results['figures'])} figure(s)" if outcome.results else "")
            print(f"    exit status {outcome.exit_status}, {outcome.seconds:.0f}s: {status}", flush=True)
    except KeyboardInterrupt:
        print("interrupted: nothing written", file=sys.stderr)
        return 130
    run.seconds = time.monotonic() - started
    run.load_after = os.getloadavg()
    args.output.write_text(render(run))
    failed = [o.benchmark.name for o in run.outcomes if o.failed]
    print(f"wrote {args.output} in {run.seconds / 60:.1f} min" + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
