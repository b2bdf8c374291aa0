"""``bench/webhook_ingest.py --impulse``: the bot on SQLite and IMPulse (bench/impulse.py) on the
same load, one after the other in each of ``--repeat`` repetitions, with issue 18's target:
the bot makes at least 1.5x IMPulse's deliveries/s in every repetition.

Each repetition starts both afresh (an empty SQLite file, an empty IMPulse data directory) and
sends both the same warm-up and measured bodies; the order alternates (bot first in odd
repetitions, IMPulse first in even ones), so a drift of the machine's load does not always
favour the same one. Client and server are pinned as in the rest of webhook_ingest.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from bench import impulse
from bench.common import Results, free_port
from bench.ingest_load import Result
from bench.ingest_report import print_setup
from bench.ingest_servers import Server, bot_env, run_target
from bench.ingest_workload import Workload

TARGET_RATIO = 1.5  # bot / IMPulse deliveries/s, in every repetition

Repetition = tuple[Result, Result]  # (bot, IMPulse)


async def side_by_side(args: argparse.Namespace, measured: Workload, warmup: Workload, token: str,
                       pins: tuple[int | None, int | None], started: datetime,
                       load_before: tuple[float, ...]) -> int:
    server_cpu = pins[1]
    reps: list[Repetition] = []
    with tempfile.TemporaryDirectory(prefix="incident-bot-bench-impulse-") as tmp:
        tmpdir = Path(tmp)
        print(f"IMPulse side by side: its checkout, virtualenv, config and data, the bot's SQLite files and the "
              f"logs in {tmpdir} (removed at the end)", flush=True)
        try:
            them = await impulse.prepare(args.impulse, args.impulse_ref, tmpdir, args.impulse_python,
                                         args.impulse_venv)
        except RuntimeError as exc:
            print(f"  impulse: FAILED to set it up: {exc}", flush=True)
            out = Results("webhook_ingest_impulse", f"IMPulse from {args.impulse}: not set up")
            out.failures.append(f"IMPulse could not be set up: {str(exc)[:500]}")
            out.write(args.json)
            return 1
        print(f"  impulse: {them.commit} from {args.impulse}; {them.versions}", flush=True)
        for rep in range(1, args.repeat + 1):
            results: dict[str, Result] = {}
            for which in ("bot", "impulse") if rep % 2 else ("impulse", "bot"):
                if which == "bot":
                    env = bot_env(f"sqlite+aiosqlite:///{tmpdir / f'bot-{rep}.db'}", free_port(), token)
                    bot = Server("bot sqlite", [sys.executable, "-m", "bot.cli", "serve"], env,
                                 tmpdir / f"bot-{rep}.log", server_cpu)
                    results[which] = await run_target(f"bot sqlite #{rep}", bot, token, args, warmup, measured)
                else:
                    server = impulse.server(them, tmpdir / f"impulse-data-{rep}", free_port(),
                                            tmpdir / f"impulse-{rep}.log", server_cpu)
                    results[which] = await run_target(f"impulse #{rep}", server, token, args, warmup, measured,
                                                      inspect=impulse.backlog)
            reps.append((results["bot"], results["impulse"]))

    print_setup("incident-bot against IMPulse, webhook ingestion side by side", args, measured, pins, started,
                load_before)
    print_table(reps, them)
    out = json_results(reps, them, args)
    out.write(args.json)
    return 1 if out.failures else 0


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def times(value: float | None) -> str:
    return f"{value:.2f}x" if value is not None else "n/a"


def rate_ratios(reps: list[Repetition]) -> list[float]:
    return [r for r in (ratio(bot.rate, them.rate) for bot, them in reps) if r is not None]


def print_table(reps: list[Repetition], them: impulse.Impulse) -> None:
    print(f"IMPulse: {them.commit} from {them.source}, messenger: none; {them.versions}")
    print()
    header = (f"{'rep':<5}{'target':<12}{'deliveries/s':>14}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
              f"{'failures':>10}{'server cpu':>12}{'cpu ms/deliv':>14}")
    print(header)
    print("-" * len(header))
    for rep, (bot, other) in enumerate(reps, 1):
        for name, r in (("bot sqlite", bot), ("impulse", other)):
            cpu = f"{r.cpu_ms_per_delivery:.3f}" if r.cpu_ms_per_delivery is not None else "?"
            print(f"{rep:<5}{name:<12}{r.rate:>14.1f}{r.percentile_ms(0.50):>9.1f}{r.percentile_ms(0.99):>9.1f}"
                  f"{r.percentile_ms(1.0):>9.1f}{r.failures:>10}{r.cpu_share(r.server_cpu):>12}{cpu:>14}")
        print(f"{'':<5}bot / IMPulse: deliveries/s {times(ratio(bot.rate, other.rate))}, "
              f"p50 {times(ratio(bot.percentile_ms(0.5), other.percentile_ms(0.5)))}, "
              f"p99 {times(ratio(bot.percentile_ms(0.99), other.percentile_ms(0.99)))}, "
              f"CPU per delivery {times(ratio(bot.cpu_ms_per_delivery, other.cpu_ms_per_delivery))}")
    print()
    print(f"note: {impulse.ANSWERS_BEFORE_STORING}")
    for rep, (bot, other) in enumerate(reps, 1):
        for name, r in (("bot sqlite", bot), ("impulse", other)):
            if r.note:
                print(f"rep {rep} {name}: {r.note}")
            if r.truncated:
                print(f"rep {rep} {name}: stopped after --max-seconds; only {r.sent} deliveries sent")
            for sample in r.failure_samples:
                print(f"rep {rep} {name} failure: {sample}")
    ratios = rate_ratios(reps)
    met = target_met(reps)
    print(f"target (bot >= {TARGET_RATIO:g}x IMPulse's deliveries/s in every repetition): "
          f"{'MET' if met else 'NOT MET'} ({', '.join(f'{r:.2f}x' for r in ratios) or 'no ratio'})")


def target_met(reps: list[Repetition]) -> bool:
    ratios = rate_ratios(reps)
    return (len(ratios) == len(reps) > 0 and min(ratios) >= TARGET_RATIO
            and not any(bot.failures or other.failures for bot, other in reps))


def json_results(reps: list[Repetition], them: impulse.Impulse, args: argparse.Namespace) -> Results:
    out = Results("webhook_ingest_impulse", f"{len(reps)} repetition(s), each the bot on SQLite and IMPulse "
                  f"{them.commit} (messenger: none) one after the other, alternating which goes first: "
                  f"{args.requests} deliveries after {args.warmup} warm-up, concurrency {args.concurrency} (closed "
                  f"loop), {args.alerts} alerts per group, {args.groups} groups, {args.workload} workload")
    for rep, (bot, other) in enumerate(reps, 1):
        for r in (bot, other):
            if r.failures:
                out.failures.append(f"rep {rep} {r.target}: {r.failures} failed"
                                    + (f" ({r.failure_samples[0]})" if r.failure_samples else "")
                                    + (f"; {r.note}" if r.note else ""))
        if not bot.latencies or not other.latencies:
            continue
        baseline = f"IMPulse, repetition {rep}"
        out.add(f"rep {rep}: bot sqlite: deliveries/s", bot.rate, "/s", baseline=baseline, baseline_value=other.rate)
        out.add(f"rep {rep}: bot sqlite: acknowledgement p99", bot.percentile_ms(0.99), "ms", baseline=baseline,
                baseline_value=other.percentile_ms(0.99))
        if bot.cpu_ms_per_delivery is not None and other.cpu_ms_per_delivery is not None:
            out.add(f"rep {rep}: bot sqlite: server CPU per delivery", bot.cpu_ms_per_delivery, "ms",
                    baseline=baseline, baseline_value=other.cpu_ms_per_delivery)
    ratios = rate_ratios(reps)
    if ratios:
        out.add("bot / IMPulse deliveries/s, lowest repetition", min(ratios), "x",
                target=f">= {TARGET_RATIO:g}x in every repetition", met=target_met(reps))
    out.notes.append(f"IMPulse {them.commit} from {them.source}; {them.versions}")
    out.notes.append(f"bot / IMPulse deliveries/s per repetition: {', '.join(f'{r:.2f}x' for r in ratios)}")
    out.notes.append(impulse.ANSWERS_BEFORE_STORING)
    out.notes.extend(f"rep {rep} IMPulse: {other.note}" for rep, (_, other) in enumerate(reps, 1) if other.note)
    return out
