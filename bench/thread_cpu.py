"""Which of the bot's threads a change costs or saves: CPU per delivery of each thread, for
variants of the bot under bench/webhook_ingest.py's load, in alternating rounds.

A variant is ``off`` (no ``OTEL_*``) or ``on`` (exporting every trace to bench/otlp_sink.py),
then optionally ``:NAME=VALUE,NAME=VALUE`` (more environment) and ``@DIR`` (another checkout
of the bot, e.g. a ``git worktree`` of the commit before a change). Each round starts each
variant on a fresh SQLite file, sends the warm-up, reads every thread's user + system time
from ``/proc/<pid>/task/*/stat``, sends the measured deliveries and reads them again. Thread
``0`` is the main thread (the event loop); the others are numbered in the order they started:
with tracing on the span exporter's thread starts before the SQLite writer's.

The machine's speed drifts by tens of percent within minutes: compare variants of one run
(they alternate, so a drift weighs on each alike), read each thread's difference rather than
the totals, and repeat a run before believing a difference of a few percent.

    .venv/bin/python bench/thread_cpu.py off on
    git worktree add --detach /tmp/before HEAD~1
    .venv/bin/python bench/thread_cpu.py --rounds 6 on@/tmp/before on off
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.common import free_port, pick_cpus, pin_to  # noqa: E402
from bench.ingest_load import Result, _phase  # noqa: E402
from bench.ingest_servers import RUNNING_SERVERS, Server, bot_env  # noqa: E402
from bench.interrupt import run_in_temporary_directory  # noqa: E402
from bench.tracing_overhead import otlp_receiver, traced  # noqa: E402
from bench.webhook_ingest import parse_args as workload_args  # noqa: E402
from bench.webhook_ingest import workloads  # noqa: E402


@dataclass(frozen=True)
class Variant:
    label: str
    tracing: bool
    environment: dict[str, str]
    checkout: Path

    @classmethod
    def parse(cls, text: str) -> Variant:
        head, _, checkout = text.partition("@")
        mode, _, settings = head.partition(":")
        if mode not in ("off", "on"):
            raise argparse.ArgumentTypeError(f"a variant starts with off or on, not {mode!r} (in {text!r})")
        environment = {}
        for item in filter(None, settings.split(",")):
            name, equals, value = item.partition("=")
            if not equals or not name:
                raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {item!r} (in {text!r})")
            environment[name] = value
        path = Path(checkout).resolve() if checkout else REPO
        if not (path / "bot" / "cli").is_dir():
            raise argparse.ArgumentTypeError(f"{path} is not a checkout of the bot (in {text!r})")
        return cls(text, mode == "on", environment, path)


@dataclass
class Totals:
    deliveries: int = 0
    seconds: float = 0.0
    per_thread: dict[int, float] = field(default_factory=dict)  # CPU seconds, by thread number

    def add(self, deliveries: int, seconds: float, used: list[float]) -> None:
        self.deliveries += deliveries
        self.seconds += seconds
        for number, cpu in enumerate(used):
            self.per_thread[number] = self.per_thread.get(number, 0.0) + cpu

    def ms_per_delivery(self) -> dict[int, float]:
        return {n: 1000 * cpu / self.deliveries for n, cpu in sorted(self.per_thread.items())}


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """User + system CPU time of each of ``pid``'s threads, by thread id."""
    ticks = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        found[int(tid)] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def used_between(before: dict[int, float], after: dict[int, float]) -> list[float]:
    """Each thread's CPU between the readings, in the order the threads started."""
    return [after[tid] - before.get(tid, 0.0) for tid in sorted(after)]


async def run_variant(variant: Variant, args: argparse.Namespace, sink_url: str, workdir: Path, round_: int,
                      cpu: int | None) -> tuple[int, float, list[float]]:
    token = secrets.token_urlsafe(24)
    database = workdir / f"round{round_}-{args.variants.index(variant)}.db"
    env = bot_env(f"sqlite+aiosqlite:///{database}", free_port(), token)
    env = traced(env, sink_url if variant.tracing else None)
    env.update(variant.environment)
    bot = Server(variant.label, [sys.executable, "-m", "bot.cli", "serve"], env, workdir / "bot.log", cpu,
                 cwd=variant.checkout)
    measured, warmup = workloads(args.load)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        bot.start()
        await bot.wait_healthy()
        assert bot.proc is not None
        url = f"{bot.base_url}{bot.webhook_path}"
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.concurrency)) as session:
            await _phase(session, url, headers, warmup.bodies, args.concurrency, None, 60)
            before, started = thread_cpu_seconds(bot.proc.pid), time.perf_counter()
            result = Result(variant.label)
            await _phase(session, url, headers, measured.bodies, args.concurrency, result, 300)
            elapsed, after = time.perf_counter() - started, thread_cpu_seconds(bot.proc.pid)
    finally:
        bot.stop()
    if result.failures:
        raise RuntimeError(f"{variant.label}: {result.failures} deliveries failed ({result.failure_samples[:1]})")
    return result.sent, elapsed, used_between(before, after)


def table_row(label: str, deliveries: int, seconds: float, per_thread: dict[int, float]) -> str:
    threads = "  ".join(f"{n}: {ms:.3f}" for n, ms in per_thread.items() if ms >= 0.001)
    return (f"{label:36s} {deliveries / seconds:7.1f}/s  all {sum(per_thread.values()):.3f} ms  "
            f"by thread {threads}")


async def main_async(args: argparse.Namespace, workdir: Path) -> int:
    client_cpu, server_cpu = pick_cpus(True)
    pin_to(client_cpu)
    totals = {variant.label: Totals() for variant in args.variants}
    sink = otlp_receiver(workdir / "sink.log", client_cpu)
    sink.start()
    try:
        await sink.wait_healthy()
        for round_ in range(args.rounds):
            order = args.variants if round_ % 2 == 0 else args.variants[::-1]
            for variant in order:
                sent, seconds, used = await run_variant(variant, args, sink.base_url, workdir, round_, server_cpu)
                totals[variant.label].add(sent, seconds, used)
                print(f"round {round_ + 1}: " + table_row(variant.label, sent, seconds,
                                                         {n: 1000 * c / sent for n, c in enumerate(used)}),
                      flush=True)
    finally:
        sink.stop()
    print(f"\nCPU per delivery (ms), {args.rounds} round(s) of {args.requests} deliveries, concurrency "
          f"{args.concurrency}, SQLite; thread 0 is the event loop")
    for label, total in totals.items():
        print(table_row(label, total.deliveries, total.seconds, total.ms_per_delivery()))
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+", type=Variant.parse, metavar="VARIANT",
                        help="off or on, then :NAME=VALUE,... and @DIR (see the module's docstring)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--requests", type=int, default=3000, help="measured deliveries per variant and round")
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args(argv)
    args.load = workload_args(["--requests", str(args.requests), "--concurrency", str(args.concurrency)])
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_in_temporary_directory(lambda workdir: main_async(args, workdir), "incident-bot-bench-threads-",
                                      "servers stopped, temporary data removed", _stop_servers)


def _stop_servers() -> None:
    for server in list(RUNNING_SERVERS):
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
