"""What bench/webhook_ingest.py prints and writes to ``--json``: the table of targets against
bare aiohttp, the outcomes, and issue 18's targets met or not."""

from __future__ import annotations

import argparse
import os
import platform
from datetime import datetime

import aiohttp

from bench.common import USABLE_CPUS, Results, code_version
from bench.ingest_load import Result
from bench.ingest_profile import print_hotspots
from bench.ingest_workload import Workload

TARGET_RATE = 300.0  # deliveries/s on SQLite
TARGET_P99_MS = 100.0
# Issue 18, as multiples of bare aiohttp's in the same run: (CPU per delivery, p99 or None).
COST_TARGETS: dict[str, tuple[float, float | None]] = {"bot sqlite": (6.0, 4.0), "bot postgresql": (12.0, None)}


def print_setup(title: str, args: argparse.Namespace, workload: Workload, pins: tuple[int | None, int | None],
                started: datetime, load_before: tuple[float, ...]) -> None:
    """The report's first lines: the machine, its load, the pinning, the code and the load."""
    print()
    print(f"{title}, {started.strftime('%Y-%m-%d %H:%M:%S UTC')}")
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


def print_report(results: list[Result], skipped: dict[str, str], args: argparse.Namespace, workload: Workload,
                 pins: tuple[int | None, int | None], started: datetime, load_before: tuple[float, ...]) -> None:
    bare = next((r for r in results if r.target == "bare aiohttp"), None)
    print_setup("incident-bot webhook ingestion benchmark", args, workload, pins, started, load_before)
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
