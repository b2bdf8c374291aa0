"""Tracing overhead: webhook ingest with OpenTelemetry exporting to a local OTLP/HTTP receiver
against the same bot with tracing off, in the same run. Target: throughput ratio >= 0.85.

The load and the servers are those of bench/webhook_ingest.py (10-alert groups, concurrency
32, closed loop, client and server pinned to separate CPUs, the bot on SQLite or with
``--database postgresql`` on PostgreSQL, a fresh database per target). "Tracing on" samples every trace (the SDK's default,
``parentbased_always_on``): the worst case; a ratio sampler costs less. Each round runs both
targets, in alternating order (off then on, then on then off, ...) so a drift of the
machine weighs on both alike; the figures add up the rounds.

The receiver (bench/otlp_sink.py) is a separate process that decodes every export; its span
count is printed, so "on" is known to have exported.

    .venv/bin/python bench/tracing_overhead.py
    .venv/bin/python bench/tracing_overhead.py --requests 500 --rounds 1
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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.common import HOST, Results, free_port, pick_cpus, pin_to  # noqa: E402
from bench.ingest_load import Result  # noqa: E402
from bench.ingest_servers import (  # noqa: E402
    CREATED_DATABASES,
    DEFAULT_POSTGRES_ADMIN_URL,
    RUNNING_SERVERS,
    Server,
    bot_env,
    create_postgres_database,
    drop_despite_cancel,
)
from bench.interrupt import interruptible  # noqa: E402
from bench.webhook_ingest import run_target, workloads  # noqa: E402

TARGET_RATIO = 0.85
SINK = REPO / "bench" / "otlp_sink.py"


def otlp_receiver(log: Path, cpu: int | None) -> Server:
    """bench/otlp_sink.py on a free port (not started), pinned with the load generator: the
    bot's CPU stays the bot's."""
    port = free_port()
    return Server("otlp receiver", [sys.executable, str(SINK), "--host", HOST, "--port", str(port)],
                  {**os.environ, "PORT": str(port)}, log, cpu)


def traced(env: dict[str, str], endpoint: str | None, extra: list[str] | None = None) -> dict[str, str]:
    """The bot's environment with tracing off (no OTEL_* at all) or exporting to ``endpoint``
    (with the ``--otel NAME=VALUE`` settings)."""
    env = {k: v for k, v in env.items() if not k.startswith("OTEL_")}
    if endpoint is not None:
        env.update(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_SERVICE_NAME="incident-bot-bench")
        env.update(item.split("=", 1) for item in extra or [])
    return env


async def spans_received(sink: Server) -> int:
    async with aiohttp.ClientSession() as session, session.get(f"{sink.base_url}/count") as resp:
        return int((await resp.json())["spans"])


@asynccontextmanager
async def fresh_database(args: argparse.Namespace, sqlite_path: Path) -> AsyncIterator[str]:
    """An empty database for one target: a SQLite file, or a PostgreSQL database (migrated,
    dropped afterwards)."""
    if args.database == "sqlite":
        yield f"sqlite+aiosqlite:///{sqlite_path}"
        return
    name = f"incident_bot_bench_{uuid.uuid4().hex[:10]}"
    try:
        url, why = await create_postgres_database(args.postgres_url, name)
        if url is None:
            raise RuntimeError(f"PostgreSQL unreachable ({why})")
        env = bot_env(url, free_port(), "unused")
        subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], env=env, cwd=REPO, check=True,
                       capture_output=True, timeout=120)
        yield url
    finally:
        if name in CREATED_DATABASES:
            await drop_despite_cancel(args.postgres_url, name)


def combined(name: str, parts: list[Result]) -> Result:
    total = Result(name)
    for part in parts:
        total.sent += part.sent
        total.elapsed += part.elapsed
        total.latencies += part.latencies
        total.failures += part.failures
        total.failure_samples += part.failure_samples
        total.outcomes.update(part.outcomes)
        if part.server_cpu is not None:
            total.server_cpu = (total.server_cpu or 0.0) + part.server_cpu
    return total


def sampling(args: argparse.Namespace) -> str:
    settings = dict(item.split("=", 1) for item in args.otel)
    sampler = settings.get("OTEL_TRACES_SAMPLER", "parentbased_always_on")
    ratio = settings.get("OTEL_TRACES_SAMPLER_ARG")
    return "every trace sampled" if sampler == "parentbased_always_on" else f"sampler {sampler} {ratio or ''}".strip()


def cpu_ms_per_delivery(result: Result) -> float:
    """The bot's CPU time per delivery: what tracing adds, less disturbed than throughput by
    other work on a shared machine."""
    return result.cpu_ms_per_delivery if result.cpu_ms_per_delivery is not None else float("nan")


async def main_async(args: argparse.Namespace) -> int:
    client_cpu, server_cpu = pick_cpus(not args.no_pin)
    pin_to(client_cpu)
    measured, warmup = workloads(args)
    token = secrets.token_urlsafe(24)
    runs: dict[str, list[Result]] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory(prefix="incident-bot-bench-tracing-") as tmp:
        tmpdir = Path(tmp)
        sink = otlp_receiver(tmpdir / "sink.log", client_cpu)
        sink.start()
        try:
            await sink.wait_healthy()
            for round_ in range(args.rounds):
                order = ("off", "on") if round_ % 2 == 0 else ("on", "off")
                for mode in order:
                    async with fresh_database(args, tmpdir / f"{mode}-{round_}.db") as db_url:
                        env = traced(bot_env(db_url, free_port(), token), sink.base_url if mode == "on" else None,
                                     args.otel)
                        bot = Server(f"tracing {mode}", [sys.executable, "-m", "bot.cli", "serve"], env,
                                     tmpdir / f"bot-{mode}-{round_}.log", server_cpu)
                        runs[mode].append(await run_target(f"tracing {mode}", bot, token, args, warmup, measured))
            spans = await spans_received(sink)
        finally:
            sink.stop()

    off, on = combined("tracing off", runs["off"]), combined("tracing on", runs["on"])
    ratio = on.rate / off.rate if off.rate else float("nan")
    print()
    print(f"tracing overhead, {args.rounds} round(s) of {args.requests} deliveries per target, concurrency "
          f"{args.concurrency}, {args.alerts} alerts per group, {args.workload} workload, {args.database}, "
          f"{sampling(args)}")
    for r in (off, on):
        print(f"  {r.target:12s} {r.rate:8.1f} deliveries/s   p50 {r.percentile_ms(0.5):6.1f} ms   "
              f"p99 {r.percentile_ms(0.99):6.1f} ms   bot CPU {cpu_ms_per_delivery(r):5.2f} ms/delivery   "
              f"failures {r.failures}")
    per_round = [b.rate / a.rate for a, b in zip(runs["off"], runs["on"], strict=True) if a.rate and b.rate]
    print(f"  spans received by the OTLP receiver: {spans}")
    print(f"  ratio per round: {', '.join(f'{r:.3f}' for r in per_round)}")
    met = ratio >= TARGET_RATIO and not off.failures and not on.failures and spans > 0
    print(f"  throughput ratio (on / off): {ratio:.3f}  (target >= {TARGET_RATIO}: {'met' if met else 'NOT met'})")

    out = Results("tracing_overhead", f"{args.rounds} round(s) of {args.requests} deliveries per target after "
                  f"{args.warmup} warm-up, concurrency {args.concurrency}, {args.workload} workload, {args.database}, "
                  f"tracing on = "
                  f"{sampling(args)}, exported over OTLP/HTTP to a local receiver")
    out.add("tracing on: deliveries/s", on.rate, "/s", baseline="tracing off, same run", baseline_value=off.rate)
    out.add("tracing on / off: throughput ratio", ratio, "x", target=f">= {TARGET_RATIO}", met=met)
    out.add("tracing on: bot CPU per delivery", cpu_ms_per_delivery(on), "ms", baseline="tracing off, same run",
            baseline_value=cpu_ms_per_delivery(off))
    out.add("tracing on: acknowledgement p99", on.percentile_ms(0.99), "ms", baseline="tracing off, same run",
            baseline_value=off.percentile_ms(0.99))
    out.notes.append(f"spans received by the OTLP receiver: {spans}")
    out.notes.append(f"throughput ratio per round: {', '.join(f'{r:.3f}' for r in per_round)}")
    out.failures += [f"{r.target}: {r.failures} failed" + (f" ({r.failure_samples[0]})" if r.failure_samples else "")
                     for r in (off, on) if r.failures]
    if spans == 0:
        out.failures.append("tracing on exported no span")
    out.write(args.json)
    return 0 if not out.failures else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Webhook ingest with tracing on against off, same run")
    parser.add_argument("--requests", type=int, default=3000,
                        help="measured deliveries per target and round (default 3000: about 3 s; rounds of "
                             "1000 lasted under a second, as long as a bot's start-up transients)")
    parser.add_argument("--warmup", type=int, default=600,
                        help="unmeasured warm-up deliveries per target (default 600: past the span "
                             "processor's first export, at 512 spans, so both bots are measured running)")
    parser.add_argument("--rounds", type=int, default=6,
                        help="rounds of both targets, in alternating order (the machine drifts by tens of "
                             "percent within minutes: more, shorter rounds weigh it on both alike)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--alerts", type=int, default=10)
    parser.add_argument("--groups", type=int, default=150)
    parser.add_argument("--workload", choices=("fresh", "mixed"), default="fresh",
                        help="as bench/webhook_ingest.py's --workload (default fresh: new alerts in every delivery)")
    parser.add_argument("--update-share", type=float, default=0.3, help="for --workload mixed")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--otel", action="append", default=[], metavar="NAME=VALUE",
                        help="an OTEL_* setting for 'tracing on' (e.g. OTEL_TRACES_SAMPLER=parentbased_traceidratio)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_ADMIN_URL, help="admin URL for --database postgresql")
    parser.add_argument("--no-pin", action="store_true", help="do not pin client and server to separate CPUs")
    parser.add_argument("--max-seconds", type=float, default=45.0, help="cap on each measured phase")
    parser.add_argument("--profile", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures to FILE (for run_all.py)")
    parser.set_defaults(storm=False)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(interruptible(lambda: main_async(args), "servers stopped, temporary data removed"))
    finally:
        for server in list(RUNNING_SERVERS):
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
