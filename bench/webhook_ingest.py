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

``--impulse [SOURCE]`` runs, instead, the bot on SQLite and IMPulse (the public Python
Alertmanager bot, fetched at run time into a temporary directory, never into this repository)
in turns on the same load, ``--repeat`` times, with issue 18's target: >= 1.5x IMPulse's
deliveries/s in every repetition (bench/impulse.py, bench/impulse_side_by_side.py).

``--profile DIR`` attaches ``py-spy record --gil`` to each bot and prints its hotspots.
The code is split by role: bench/ingest_servers.py (the processes under test and PostgreSQL),
bench/ingest_load.py (the load generator), bench/ingest_report.py (the table and ``--json``),
bench/ingest_profile.py (``--profile``). See bench/README.md for the output.

    .venv/bin/python bench/webhook_ingest.py               # bare, SQLite, PostgreSQL
    .venv/bin/python bench/webhook_ingest.py --sqlite-only
    .venv/bin/python bench/webhook_ingest.py --workload mixed --sqlite-only
    .venv/bin/python bench/webhook_ingest.py --impulse --repeat 3   # against IMPulse from GitHub
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.common import BARE_SERVER, HOST, free_port, pick_cpus, pin_to  # noqa: E402
from bench.impulse import DEFAULT_SOURCE as IMPULSE_SOURCE  # noqa: E402
from bench.impulse_side_by_side import side_by_side  # noqa: E402
from bench.ingest_load import Result  # noqa: E402
from bench.ingest_report import json_results, print_report  # noqa: E402
from bench.ingest_servers import (  # noqa: E402
    CREATED_DATABASES,
    DEFAULT_POSTGRES_ADMIN_URL,
    RUNNING_SERVERS,
    Server,
    bot_env,
    create_postgres_database,
    drop_despite_cancel,
    drop_postgres_database,
    postgres_backends,
    run_target,
)
from bench.ingest_workload import Workload, build_rounds, build_workload  # noqa: E402
from bench.interrupt import interruptible  # noqa: E402


async def main_async(args: argparse.Namespace) -> int:
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    client_cpu, server_cpu = pick_cpus(not args.no_pin)
    pin_to(client_cpu)

    # Every body is built before anything is timed.
    measured, warmup = workloads(args)
    token = secrets.token_urlsafe(24)
    if args.impulse is not None:
        return await side_by_side(args, measured, warmup, token, (client_cpu, server_cpu), started, load_before)
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
                if pg_name in CREATED_DATABASES:
                    await drop_despite_cancel(args.postgres_url, pg_name)

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
    side = parser.add_argument_group("IMPulse side by side (instead of bare aiohttp, SQLite and PostgreSQL)")
    side.add_argument("--impulse", nargs="?", const=IMPULSE_SOURCE, metavar="SOURCE",
                      help="run the bot on SQLite and IMPulse, fetched at run time into a temporary directory from "
                      f"SOURCE: a git URL (default {IMPULSE_SOURCE}), a local checkout or bare mirror, or a plain "
                      "directory; they take turns on the same load in each of --repeat repetitions")
    side.add_argument("--impulse-ref", metavar="REF", help="the commit, tag or branch of IMPulse to check out "
                      "(default: the source's HEAD)")
    side.add_argument("--repeat", type=int, default=3, help="repetitions of the bot and IMPulse (default 3)")
    side.add_argument("--impulse-python", default=sys.executable, metavar="PYTHON",
                      help="the interpreter of IMPulse's virtualenv (default: this one, the bot's)")
    side.add_argument("--impulse-venv", type=Path, metavar="DIR",
                      help="keep IMPulse's virtualenv in DIR (made there if missing, reused after) instead of a "
                      "new one in the temporary directory, to skip most of pip's minute")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1 or args.alerts < 1 or args.warmup < 0:
        parser.error("--requests, --concurrency and --alerts must be >= 1, --warmup >= 0")
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    if not 0.0 <= args.update_share <= 1.0:
        parser.error("--update-share must be between 0 and 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(interruptible(lambda: main_async(args), "servers stopped, temporary data removed"))
    finally:  # normally nothing is left; this covers a crash that skipped the async clean-up
        for server in list(RUNNING_SERVERS):
            server.stop()
        for name, admin_url in list(CREATED_DATABASES.items()):
            asyncio.run(drop_postgres_database(admin_url, name))


if __name__ == "__main__":
    sys.exit(main())
