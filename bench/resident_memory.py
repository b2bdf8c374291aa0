"""Resident memory of the bot with 1,000 open incidents, against the same bot idle and a bare
aiohttp process.

Three readings of VmRSS (``/proc/<pid>/status``), each process pinned to the last CPU:

1. ``bench/bare_server.py`` (a bare aiohttp app, the baseline of any aiohttp service),
   ``--settle`` (3) seconds after its ``/healthz`` answered 200;
2. ``incident-bot serve`` on a fresh SQLite file, against the Slack emulator (served from this
   process), ``--settle`` seconds after its ``/readyz`` answered 200: the bot idle right after
   start-up;
3. the same bot once ``--incidents`` (1,000) new Alertmanager groups, ``severity=critical``,
   10 alerts each, each its own cluster, were posted to ``POST /alertmanager`` (8 at a time)
   and every one answered ``open``, again after ``--settle`` seconds. VmHWM (the peak) is
   read at the same moment.

Slack's rate limits are Slack's own (``--rate-scale 1``), as in production: while the incidents
pour in the outbox opens channels at the pace Slack allows, so most of their Slack work is
still pending in the database when memory is read. The playbook is bench/slack_delivery.py's
(bench/slack_harness.py).

    .venv/bin/python bench/resident_memory.py
    .venv/bin/python bench/resident_memory.py --incidents 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sqlite3
import sys
import time
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import (  # noqa: E402
    HOST,
    Results,
    code_version,
    free_port,
    memory_kib,
    pick_cpus,
    pin_to,
    start_bare_server,
    start_bot,
    stop_all,
    stop_process,
    wait_http_ok,
)
from bench.ingest_workload import GroupSpec, group_body  # noqa: E402
from bench.interrupt import run_in_temporary_directory  # noqa: E402
from bench.slack_harness import WEBHOOK_TOKEN, bot_env, start_emulator, write_playbook  # noqa: E402

# Issue 18: resident memory with 1,000 open incidents within 1.1x of the same bot idle.
TARGET_GROWTH = 1.1


def mib(kib: int) -> float:
    return kib / 1024


async def open_incidents(bot_url: str, count: int, concurrency: int) -> tuple[int, list[str], float]:
    """Post ``count`` new critical groups; (how many answered ``open``, problems, seconds)."""
    bodies = iter([group_body(GroupSpec("MemoryBench", f"mem-{i:05d}", "critical", f"mem-cluster-{i:05d}"), 10)
                   for i in range(count)])
    headers = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}
    opened = 0
    problems: list[str] = []

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal opened
        for body in bodies:
            try:
                async with session.post(f"{bot_url}/alertmanager", data=body, headers=headers) as resp:
                    text = await resp.text()
                    status = resp.status
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                problems.append(f"{type(exc).__name__}: {exc}")
                continue
            try:
                outcome = json.loads(text).get("outcome") if status == 200 else None
            except (ValueError, AttributeError):
                outcome = None
            if outcome == "open":
                opened += 1
            else:
                problems.append(f"HTTP {status}: {text[:200]}")

    started = time.monotonic()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency),
                                     timeout=aiohttp.ClientTimeout(total=30)) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return opened, problems, time.monotonic() - started


def database_counts(db_path: Path) -> tuple[int, int]:
    """(open incidents, pending outbox actions), read-only."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        open_incidents = db.execute("SELECT count(*) FROM incidents WHERE status != 'resolved'").fetchone()[0]
        pending = db.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
    finally:
        db.close()
    return int(open_incidents), int(pending)


async def bare_rss(workdir: Path, cpu: int | None, settle: float) -> int:
    port = free_port()
    log = workdir / "bare.log"
    proc = start_bare_server(port, log, cpu)
    try:
        await wait_http_ok(f"http://{HOST}:{port}/healthz", proc, log, timeout=30)
        await asyncio.sleep(settle)
        return memory_kib(proc.pid)["VmRSS"]
    finally:
        stop_process(proc)


async def run(args: argparse.Namespace, workdir: Path) -> int:
    own_cpu, bot_cpu = pick_cpus(not args.no_pin)
    pin_to(own_cpu)
    playbooks = write_playbook(workdir / "playbooks")
    db_path = workdir / "bench.db"
    log = workdir / "bot.log"
    print(f"resident memory benchmark: work files in {workdir} (removed at the end)", flush=True)
    print("  bare aiohttp ...", flush=True)
    bare = await bare_rss(workdir, bot_cpu, args.settle)

    slack = await start_emulator(args.rate_scale)
    try:
        port = free_port()
        bot_url = f"http://{HOST}:{port}"
        proc = start_bot(bot_env(workdir, f"sqlite+aiosqlite:///{db_path}", playbooks, port, slack.api_url,
                                 args.rate_scale), log, bot_cpu)
        try:
            await wait_http_ok(f"{bot_url}/readyz", proc, log)
            print(f"  bot pid {proc.pid}: idle for {args.settle:g}s after start-up ...", flush=True)
            await asyncio.sleep(args.settle)
            idle = memory_kib(proc.pid)
            print(f"  opening {args.incidents} incidents through POST /alertmanager ...", flush=True)
            opened, problems, seconds = await open_incidents(bot_url, args.incidents, args.concurrency)
            await asyncio.sleep(args.settle)
            if proc.poll() is not None:
                raise RuntimeError(f"bot exited with {proc.returncode} during the run")
            loaded = memory_kib(proc.pid)
            open_count, pending = database_counts(db_path)
            slack_calls = len(slack.calls)
        finally:
            stop_process(proc)
    finally:
        await slack.stop()

    print()
    print(f"machine: nproc {os.cpu_count()}, python {platform.python_version()}, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"code: {code_version()}")
    print(f"setup: bot on a fresh SQLite file against the Slack emulator (rate-limit windows / {args.rate_scale:g}), "
          f"readings {args.settle:g}s after start-up and after the last webhook"
          + (f"; bot and bare server on cpu {bot_cpu}" if bot_cpu is not None else ""))
    print()
    print(f"{'process':<48}{'VmRSS MiB':>10}{'VmHWM MiB':>11}")
    print(f"{'bare aiohttp (bench/bare_server.py), idle':<48}{mib(bare):>10.1f}")
    print(f"{'bot idle after start-up (empty database)':<48}{mib(idle['VmRSS']):>10.1f}{mib(idle['VmHWM']):>11.1f}")
    print(f"{f'bot with {open_count} open incidents':<48}{mib(loaded['VmRSS']):>10.1f}{mib(loaded['VmHWM']):>11.1f}")
    print()
    per_incident = (loaded["VmRSS"] - idle["VmRSS"]) / max(opened, 1)
    print(f"per open incident: {per_incident:.1f} KiB (VmRSS difference / {max(opened, 1)})")
    print(f"ingest: {opened} of {args.incidents} webhooks answered 'open' in {seconds:.1f}s; Slack calls so far "
          f"{slack_calls}, outbox actions still pending {pending}")
    for problem in problems[:5]:
        print(f"FAILED: {problem}")

    out = Results("resident_memory", f"{args.incidents} incidents opened by webhook on SQLite, Slack emulator at "
                  f"rate-limit windows / {args.rate_scale:g}, readings {args.settle:g}s after")
    growth = loaded["VmRSS"] / idle["VmRSS"] if idle["VmRSS"] else float("nan")
    out.add(f"bot VmRSS with {open_count} open incidents", mib(loaded["VmRSS"]), "MiB",
            baseline="the same bot idle right after start-up", baseline_value=mib(idle["VmRSS"]),
            target=f"<= {TARGET_GROWTH:g}x idle", met=growth <= TARGET_GROWTH)
    out.add(f"bot VmHWM (peak) with {open_count} open incidents", mib(loaded["VmHWM"]), "MiB",
            baseline="the same bot's peak up to idle after start-up", baseline_value=mib(idle["VmHWM"]))
    out.add("bot VmRSS idle right after start-up", mib(idle["VmRSS"]), "MiB",
            baseline="bare aiohttp process, idle", baseline_value=mib(bare))
    out.notes.append(f"{per_incident:.1f} KiB per open incident; outbox actions still pending: {pending} "
                     f"(Slack calls made: {slack_calls})")
    out.failures.extend(problems[:5])
    if opened < args.incidents:
        out.failures.append(f"only {opened} of {args.incidents} webhooks opened an incident")
    out.write(args.json)
    return 0 if opened == args.incidents else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=1000, help="incidents to open (default 1000)")
    parser.add_argument("--concurrency", type=int, default=8, help="webhooks in flight (default 8)")
    parser.add_argument("--settle", type=float, default=3.0,
                        help="seconds to wait before each reading (default 3)")
    parser.add_argument("--rate-scale", type=float, default=1.0,
                        help="divide Slack's rate-limit windows by this, emulator and bot alike (default 1)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the processes to CPUs")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures to FILE (for run_all.py)")
    args = parser.parse_args(argv)
    if args.incidents < 1 or args.concurrency < 1 or args.settle < 0 or args.rate_scale <= 0:
        parser.error("--incidents and --concurrency must be >= 1, --settle >= 0, --rate-scale > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_in_temporary_directory(lambda tmp: run(args, tmp), "bench-memory-",
                                      "processes stopped, temporary files removed", stop_all)


if __name__ == "__main__":
    sys.exit(main())
