"""Slash-command acknowledgement latency, with and without 100 webhook deliveries per second.

The real bot (``incident-bot serve``, a subprocess on a fresh SQLite file) against the
project's Slack emulator (``tests/slack_emulator``, served from this process on 127.0.0.1),
with the playbook of bench/slack_delivery.py (tests/fixtures/playbooks/slack/incidents.yml,
storm guard removed, ``responders: [UDAVE]``). Slack's rate limits are Slack's own by default
(``--rate-scale 1``, in the emulator and the bot's pacing alike), as in production: the
outbox opens channels and posts at the pace Slack allows while the webhooks pour in.
``--rate-scale 1000`` lifts that brake, so the outbox works flat out too (the worst case).

This process sends signed slash commands through the emulator (``emu.slash_command``,
which POSTs ``/slack/events`` like Slack does) in an open loop at ``--slash-rate`` (10/s),
alternating ``/incident help`` (in #general; no database) and ``/incident note <text>``
(as the responder UDAVE in one of ``--note-incidents`` (4) incident channels opened during
the warm-up; one write transaction). The acknowledgement time is ``time.perf_counter()``
from just before the call to having the whole HTTP response (what Slack's 3-second
deadline measures). Phases, on the same bot:

1. no webhook load, ``--baseline-seconds`` (20);
2. with webhook load: a second process (this file with ``--loadgen``, so it does not share
   the measuring event loop) posts Alertmanager payloads open loop at ``--webhook-rate``
   (100/s), the workload of bench/webhook_ingest.py (10-alert groups, one new group per
   10 deliveries, half critical -> an incident each, half warning -> a triage notice; the
   rest re-sends and updates). Slash commands start ``--ramp`` (3 s) into the load and run
   for ``--load-seconds`` (30) while it goes on.

Target from the issue: p99 under 300 ms for both commands under the webhook load.

    .venv/bin/python bench/slash_ack.py
    .venv/bin/python bench/slash_ack.py --rate-scale 1000     # outbox unthrottled as well
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import (  # noqa: E402
    HOST,
    USABLE_CPUS,
    WEBHOOK_TOKEN,
    Results,
    bot_env,
    code_version,
    free_port,
    percentile,
    pin_to,
    pinned,
    process_cpu_seconds,
    run_queue_wait,
    start_bot,
    start_emulator,
    stop_all,
    stop_process,
    wait_healthy,
    write_playbook,
)
from bench.interrupt import interruptible  # noqa: E402
from bench.slack_delivery import CallLog, Driver  # noqa: E402
from bench.webhook_ingest import build_workload  # noqa: E402
from tests.slack_emulator import SlackEmulator  # noqa: E402

TARGET_P99_MS = 300.0
OWN_LIMITS = ": Slack's own limits"
WORKING_ON_IT = "Working on it"  # the bot's ack when the work outlasts its 2 s budget
NOTED = "Noted on the timeline."
MAX_SLASH_IN_FLIGHT = 200
LOADGEN_MAX_IN_FLIGHT = 1000

_CHILDREN: set[subprocess.Popen[bytes]] = set()


# ---------------------------------------------------------------------------------------
# The webhook load generator (its own process: ``--loadgen``)
# ---------------------------------------------------------------------------------------

async def loadgen(url: str, token: str, rate: float, seconds: float, seed: int) -> dict[str, Any]:
    """Build the workload, say ``ready``, wait for a line on stdin, then post open loop."""
    count = max(1, round(rate * seconds))
    workload = build_workload(prefix="load", requests=count, groups=max(1, count // 10), alerts=10,
                              update_share=0.3, seed=seed)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    samples: list[str] = []
    in_flight: set[asyncio.Task[None]] = set()
    peak = skipped = 0
    lags: list[float] = []

    async def send(session: aiohttp.ClientSession, body: bytes) -> None:
        started = time.perf_counter()
        try:
            async with session.post(url, data=body, headers=headers) as resp:
                answer = await resp.read()
                status = resp.status
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            statuses[type(exc).__name__] += 1
            if len(samples) < 3:
                samples.append(f"{type(exc).__name__}: {exc}")
            return
        statuses[str(status)] += 1
        if status == 200:
            latencies.append(time.perf_counter() - started)
            try:
                outcomes[str(json.loads(answer).get("outcome"))] += 1
            except (ValueError, AttributeError):
                outcomes["unparseable"] += 1
        elif len(samples) < 3:
            samples.append(f"HTTP {status}: {answer[:200].decode(errors='replace')}")

    connector = aiohttp.TCPConnector(limit=LOADGEN_MAX_IN_FLIGHT)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        started = time.monotonic()
        for i, body in enumerate(workload.bodies):
            due = started + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            lags.append(time.monotonic() - due)
            if len(in_flight) >= LOADGEN_MAX_IN_FLIGHT:
                skipped += 1
                continue
            task = asyncio.create_task(send(session, body))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            peak = max(peak, len(in_flight))
        scheduled_for = time.monotonic() - started
        if in_flight:
            await asyncio.wait(list(in_flight), timeout=15)
        unanswered = len(in_flight)
        for task in list(in_flight):
            task.cancel()
    return {"planned": count, "sent": count - skipped, "skipped": skipped, "unanswered": unanswered,
            "seconds": scheduled_for, "statuses": dict(statuses), "outcomes": dict(outcomes), "samples": samples,
            "p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99),
            "max": max(latencies, default=float("nan")), "peak_in_flight": peak,
            "lag_p99": percentile(lags, 0.99), "lag_max": max(lags, default=0.0),
            "planned_mix": dict(workload.planned)}


class LoadGenerator:
    """The ``--loadgen`` child: started early (it builds its workload), released on ``go()``."""

    def __init__(self, url: str, rate: float, seconds: float, seed: int, cpu: int | None, log: Path) -> None:
        self.argv = [sys.executable, str(Path(__file__).resolve()), "--loadgen", "--loadgen-url", url,
                     "--webhook-rate", str(rate), "--loadgen-seconds", str(seconds), "--seed", str(seed)]
        self.cpu = cpu
        self.log = log  # its stderr: a file, so a chatty child can never block on a full pipe
        self.seconds = seconds
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        with self.log.open("wb") as err:
            self.proc = subprocess.Popen(self.argv, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=err, preexec_fn=pinned(self.cpu), start_new_session=True)
        _CHILDREN.add(self.proc)
        line = await self._readline(60)
        if line.strip() != b"ready":
            raise RuntimeError(f"load generator did not start: {line!r} {self._stderr()}")

    def go(self) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()

    async def result(self) -> dict[str, Any]:
        line = await self._readline(self.seconds + 60)
        try:
            return dict(json.loads(line))
        except ValueError:
            raise RuntimeError(f"load generator gave no result: {line[:300]!r} {self._stderr()}") from None

    async def _readline(self, timeout: float) -> bytes:
        assert self.proc is not None and self.proc.stdout is not None
        stdout = self.proc.stdout
        return await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(None, stdout.readline), timeout)

    def _stderr(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    stream.close()
            _CHILDREN.discard(self.proc)
            self.proc = None


# ---------------------------------------------------------------------------------------
# Slash commands
# ---------------------------------------------------------------------------------------

@dataclass
class Acks:
    latencies: list[float] = field(default_factory=list)  # seconds, answered in time with the expected text
    over_budget: list[float] = field(default_factory=list)  # "Working on it…": the work outlasted 2 s
    failures: list[str] = field(default_factory=list)


@dataclass
class SlashPhase:
    name: str
    help: Acks = field(default_factory=Acks)
    note: Acks = field(default_factory=Acks)
    elapsed: float = 0.0
    bot_cpu: float | None = None
    bot_wait: float | None = None  # run-queue wait of the bot's threads, seconds
    loop_lag: list[float] = field(default_factory=list)  # this process's event-loop lag, seconds
    late_starts: int = 0  # commands sent more than 50 ms after their slot (the sender fell behind)


class Slasher:
    def __init__(self, slack: SlackEmulator, events_url: str, general: str, note_channels: list[str]) -> None:
        self.slack = slack
        self.events_url = events_url
        self.general = general
        self.note_channels = note_channels
        self.serial = 0
        self.notes = 0

    async def one(self, kind: str, acks: Acks | None) -> None:
        self.serial += 1
        if kind == "help":
            text, user, channel = "help", "UALICE", self.general
        else:
            self.notes += 1
            text, user = f"note bench note {self.serial}", "UDAVE"
            channel = self.note_channels[self.notes % len(self.note_channels)]
        started = time.perf_counter()
        try:
            response = await self.slack.slash_command(self.events_url, command="/incident", text=text, user_id=user,
                                                      channel_id=channel)
        except Exception as exc:  # httpx errors: a failed acknowledgement
            if acks is not None:
                acks.failures.append(f"{kind}: {type(exc).__name__}: {exc}")
            return
        elapsed = time.perf_counter() - started
        if acks is None:
            return
        reply = ""
        if response.status_code == 200 and response.content:
            try:
                reply = str(response.json().get("text", ""))
            except ValueError:
                reply = response.text
        if response.status_code == 200 and reply.startswith(WORKING_ON_IT):
            acks.over_budget.append(elapsed)
        elif response.status_code == 200 and (reply == NOTED if kind == "note" else "/incident declare" in reply):
            acks.latencies.append(elapsed)
        else:
            acks.failures.append(f"{kind}: HTTP {response.status_code}: {response.text[:200]}")

    async def run(self, phase: SlashPhase, rate: float, seconds: float, bot_pid: int) -> None:
        """Open loop: command i is due at start + i / rate, help and note in turn."""
        count = max(2, round(rate * seconds))
        tasks: set[asyncio.Task[None]] = set()
        stop_probe = asyncio.Event()
        probe = asyncio.create_task(loop_lag(phase.loop_lag, stop_probe))
        cpu_before, wait_before = process_cpu_seconds(bot_pid), run_queue_wait(bot_pid)
        started = time.monotonic()
        for i in range(count):
            due = started + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif -delay > 0.05:
                phase.late_starts += 1
            kind = "help" if i % 2 == 0 else "note"
            if len(tasks) >= MAX_SLASH_IN_FLIGHT:
                getattr(phase, kind).failures.append(f"{kind}: not sent, {MAX_SLASH_IN_FLIGHT} commands in flight")
                continue
            task = asyncio.create_task(self.one(kind, getattr(phase, kind)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(list(tasks), timeout=30)
        for task in list(tasks):
            task.cancel()
            phase.note.failures.append("help or note: no answer within 30 s")
        phase.elapsed = time.monotonic() - started
        cpu_after, wait_after = process_cpu_seconds(bot_pid), run_queue_wait(bot_pid)
        if cpu_before is not None and cpu_after is not None:
            phase.bot_cpu = cpu_after - cpu_before
        if wait_before is not None and wait_after is not None:
            phase.bot_wait = wait_after - wait_before
        stop_probe.set()
        await probe


async def loop_lag(lags: list[float], stop: asyncio.Event, tick: float = 0.01) -> None:
    """How late a 10 ms sleep wakes up in this process: slack in the measurement itself."""
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(tick)
        lags.append(time.perf_counter() - before - tick)


# ---------------------------------------------------------------------------------------
# The run and the report
# ---------------------------------------------------------------------------------------

def pick_cpus(pin: bool) -> tuple[int | None, int | None, int | None]:
    """(this process, the load generator, the bot), or Nones when not pinning."""
    if not pin or not hasattr(os, "sched_setaffinity"):
        return None, None, None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None, None
    return cpus[0], (cpus[1] if len(cpus) >= 3 else cpus[0]), cpus[-1]


async def run(args: argparse.Namespace, workdir: Path) -> int:
    started_at = datetime.now(UTC)
    load_before = os.getloadavg()
    own_cpu, gen_cpu, bot_cpu = pick_cpus(not args.no_pin)
    pin_to(own_cpu)
    playbooks = write_playbook(workdir / "playbooks")
    db_path = workdir / "bench.db"
    log_path = workdir / "bot.log"

    calls = CallLog()
    slack = await start_emulator(args.rate_scale, calls)
    proc: subprocess.Popen[bytes] | None = None
    generator: LoadGenerator | None = None
    driver: Driver | None = None
    phases: list[SlashPhase] = []
    load: dict[str, Any] = {}
    try:
        general = slack.channel_by_name("general")
        assert general is not None
        port = free_port()
        proc = start_bot(bot_env(workdir, f"sqlite+aiosqlite:///{db_path}", playbooks, port, slack.api_url,
                                 args.rate_scale), log_path, bot_cpu)
        bot_url = f"http://{HOST}:{port}"
        await wait_healthy(bot_url, proc, log_path)
        print(f"slash ack benchmark: bot pid {proc.pid} on {bot_url}, emulator at {slack.api_url}, work files in "
              f"{workdir} (removed at the end)", flush=True)

        print(f"  warm-up: {args.note_incidents} incidents for the notes, and 20 commands ...", flush=True)
        driver = Driver(bot_url, db_path, slack, calls)
        note_channels = []
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            for _ in range(args.note_incidents):
                sample = await driver.one(session, "notes", None, settle=False)
                if sample is None or sample.channel_id is None or sample.pinned is None:
                    raise RuntimeError("a warm-up incident's channel was not ready within 15 s")
                note_channels.append(sample.channel_id)
        slasher = Slasher(slack, f"{bot_url}/slack/events", general.id, note_channels)
        for i in range(20):
            await slasher.one("help" if i % 2 == 0 else "note", None)
        await driver.drained()

        baseline = SlashPhase("no webhook load")
        print(f"  {baseline.name}: {args.slash_rate:g} commands/s for {args.baseline_seconds:g}s ...", flush=True)
        await slasher.run(baseline, args.slash_rate, args.baseline_seconds, proc.pid)
        phases.append(baseline)

        loaded = SlashPhase(f"{args.webhook_rate:g} webhooks/s")
        generator = LoadGenerator(f"{bot_url}/alertmanager", args.webhook_rate,
                                  args.ramp + args.load_seconds + 1.0, args.seed, gen_cpu, workdir / "loadgen.log")
        await generator.start()
        print(f"  {loaded.name}: webhooks from a second process, slash commands from {args.ramp:g}s in for "
              f"{args.load_seconds:g}s ...", flush=True)
        calls_before = len(calls)
        generator.go()
        await asyncio.sleep(args.ramp)
        await slasher.run(loaded, args.slash_rate, args.load_seconds, proc.pid)
        phases.append(loaded)
        load = await generator.result()
        load["slack_calls"] = len(calls) - calls_before
        if proc.poll() is not None:
            raise RuntimeError(f"bot exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-3000:]}")
    finally:
        if driver is not None:
            driver.close()
        if generator is not None:
            generator.stop()
        if proc is not None:
            stop_process(proc)
        await slack.stop()

    met = print_report(args, phases, load, calls, started_at, load_before, (own_cpu, gen_cpu, bot_cpu))
    if args.show_logs:
        print(f"--- bot log (tail) ---\n{log_path.read_text(errors='replace')[-3000:]}")
    results(args, phases, load).write(args.json)
    return 0 if met else 1


def results(args: argparse.Namespace, phases: list[SlashPhase], load: dict[str, Any]) -> Results:
    out = Results("slash_ack", f"slash commands at {args.slash_rate:g}/s for {args.baseline_seconds:g}s without and "
                  f"{args.load_seconds:g}s with {args.webhook_rate:g} webhooks/s; Slack rate-limit windows / "
                  f"{args.rate_scale:g}")
    if len(phases) != 2:
        out.failures.append("the run stopped before both phases were measured")
        return out
    base, loaded = phases
    for kind in ("help", "note"):
        b, lo = getattr(base, kind), getattr(loaded, kind)
        clean = not lo.failures and not lo.over_budget
        for label, q in (("p50", 0.5), ("p99", 0.99)):
            target = {} if label == "p50" else {
                "target": f"p99 < {TARGET_P99_MS:.0f} ms under {args.webhook_rate:g} webhooks/s, none failed or over "
                          f"the 2 s budget",
                "met": clean and percentile(lo.latencies, q) * 1000 < TARGET_P99_MS}
            out.add(f"/incident {kind} acknowledgement under {args.webhook_rate:g} webhooks/s, {label}",
                    percentile(lo.latencies, q) * 1000, "ms", baseline="the same command without webhook load",
                    baseline_value=percentile(b.latencies, q) * 1000, **target)
        for phase, acks in ((base, b), (loaded, lo)):
            out.failures.extend(f"{phase.name}: {failure}" for failure in acks.failures[:3])
            if acks.over_budget:
                out.failures.append(f"{phase.name}: {len(acks.over_budget)} /incident {kind} over the 2 s budget")
    if load:
        out.notes.append(f"webhook load: {load['sent']} of {load['planned']} deliveries sent in {load['seconds']:.1f}s "
                         f"({load['sent'] / max(load['seconds'], 1e-9):.1f}/s), acks p50 {fmt(load['p50'])} ms, "
                         f"p99 {fmt(load['p99'])} ms")
    return out


def fmt(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.1f}"


def print_report(args: argparse.Namespace, phases: list[SlashPhase], load: dict[str, Any], calls: list[Any],
                 started_at: datetime, load_before: tuple[float, ...],
                 pins: tuple[int | None, int | None, int | None]) -> bool:
    print()
    print(f"incident-bot slash-command acknowledgement benchmark, {started_at.strftime('%Y-%m-%d %H:%M:%S UTC')}")
    print(f"machine: nproc {os.cpu_count()} (usable {USABLE_CPUS}), {platform.machine()}, {platform.platform()}; "
          f"python {platform.python_version()}; aiohttp {aiohttp.__version__}")
    load_after = os.getloadavg()
    print(f"load average: {' '.join(f'{x:.2f}' for x in load_before)} before, "
          f"{' '.join(f'{x:.2f}' for x in load_after)} after")
    if load_before[0] > 0.5 * USABLE_CPUS:
        print("note: other work was running before this benchmark started; these numbers are noisy, run it again")
    own, gen, bot = pins
    print("cpu pinning: " + (f"benchmark + emulator + slash commands on cpu {own}, webhook load generator on cpu "
                             f"{gen}, bot on cpu {bot}" if own is not None else "none"))
    print(f"code: {code_version()}")
    print(f"setup: bot on a fresh SQLite file; Slack emulator in this process, rate-limit windows "
          f"/ {args.rate_scale:g} (emulator and SLACK_RATE_LIMIT_SCALE{OWN_LIMITS if args.rate_scale == 1 else ''}); "
          f"slash commands open loop at {args.slash_rate:g}/s, help and note in turn, notes over "
          f"{args.note_incidents} incident channels")
    print()
    header = (f"{'phase':<18}{'command':<17}{'acks':>6}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
              f"{'over 2s budget':>16}{'failures':>10}{'bot cpu':>9}{'bot cpu wait':>14}{'loop lag p99':>14}")
    print(header)
    print("-" * len(header))
    for p in phases:
        cpu = f"{100 * p.bot_cpu / p.elapsed:.0f}%" if p.bot_cpu is not None and p.elapsed > 0 else "?"
        wait = f"{100 * p.bot_wait / p.elapsed:.0f}%" if p.bot_wait is not None and p.elapsed > 0 else "?"
        for kind in ("help", "note"):
            acks: Acks = getattr(p, kind)
            lat = acks.latencies
            print(f"{p.name:<18}{'/incident ' + kind:<17}{len(lat):>6}{fmt(percentile(lat, .5)):>9}"
                  f"{fmt(percentile(lat, .99)):>9}{fmt(max(lat, default=float('nan'))):>9}"
                  f"{len(acks.over_budget):>16}{len(acks.failures):>10}{cpu:>9}{wait:>14}"
                  f"{fmt(percentile(p.loop_lag, .99)):>14}")
    print("(acks: answered 200 with the expected reply; over 2s budget: acknowledged with 'Working on it…' after the "
          "bot's 2 s budget, not in the percentiles; bot cpu: the bot's CPU time in the phase / wall time, 100% = one "
          "core; bot cpu wait: time its threads were runnable but waited for a CPU (for each other or other work on "
          "its core), summed over threads / wall time; loop lag: how late a 10 ms sleep woke up in this, the "
          "measuring, process)")
    if len(phases) == 2:
        base, loaded = phases
        parts = []
        for kind in ("help", "note"):
            b, lo = getattr(base, kind).latencies, getattr(loaded, kind).latencies
            parts.append(f"{kind} p50 x{percentile(lo, .5) / percentile(b, .5):.2f}, p99 x"
                         f"{percentile(lo, .99) / percentile(b, .99):.2f}" if b and lo else f"{kind} n/a")
        print(f"ratio {loaded.name} / no webhook load: " + "; ".join(parts))
    for p in phases:
        if p.late_starts:
            print(f"{p.name}: {p.late_starts} commands were sent more than 50 ms after their slot")
        for kind in ("help", "note"):
            for failure in getattr(p, kind).failures[:3]:
                print(f"{p.name}: FAILED: {failure}")
    print()
    if load:
        statuses = load.get("statuses", {})
        non_200 = sum(v for k, v in statuses.items() if k != "200")
        print(f"webhook load: {load['sent']} of {load['planned']} deliveries sent in {load['seconds']:.1f}s "
              f"({load['sent'] / max(load['seconds'], 1e-9):.1f}/s, target {args.webhook_rate:g}/s); acks p50 "
              f"{fmt(load['p50'])} ms, p99 {fmt(load['p99'])} ms, max {fmt(load['max'])} ms; non-200 {non_200}; "
              f"skipped (>{LOADGEN_MAX_IN_FLIGHT} in flight) {load['skipped']}; unanswered {load['unanswered']}; "
              f"peak in flight {load['peak_in_flight']}; generator send lag p99 {fmt(load['lag_p99'])} ms")
        print("webhook outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(load["outcomes"].items(),
                                                                              key=lambda kv: -kv[1])))
        for sample in load.get("samples", []):
            print(f"webhook failure: {sample}")
        limited = Counter(c.method for c in calls if c.http_status == 429)
        print(f"Slack calls by the bot during the load phase: {load['slack_calls']} "
              f"({load['slack_calls'] / max(load['seconds'], 1e-9):.1f}/s); 429 answers in the whole run: "
              + (", ".join(f"{m} {n}" for m, n in limited.items()) or "none"))
    loaded_phase = phases[-1] if len(phases) == 2 else None
    if loaded_phase is None:
        print("target: not measured")
        return False
    p99s = {k: percentile(getattr(loaded_phase, k).latencies, 0.99) for k in ("help", "note")}
    clean = all(not getattr(loaded_phase, k).failures and not getattr(loaded_phase, k).over_budget
                for k in ("help", "note"))
    met = clean and all(not math.isnan(v) and v * 1000 < TARGET_P99_MS for v in p99s.values())
    print(f"target (p99 < {TARGET_P99_MS:.0f} ms for help and note under {args.webhook_rate:g} webhooks/s): "
          f"{'MET' if met else 'NOT MET'} (help p99 {fmt(p99s['help'])} ms, note p99 {fmt(p99s['note'])} ms"
          f"{'' if clean else '; some commands failed or went over the 2 s budget'})")
    return met


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Slash-command acknowledgement p50/p99 with and without "
                                     "100 webhook deliveries/s.")
    parser.add_argument("--webhook-rate", type=float, default=100.0, help="webhook deliveries/s (default 100)")
    parser.add_argument("--slash-rate", type=float, default=10.0,
                        help="slash commands/s, help and note in turn (default 10)")
    parser.add_argument("--baseline-seconds", type=float, default=20.0, help="phase without webhooks (default 20)")
    parser.add_argument("--load-seconds", type=float, default=30.0,
                        help="slash commands under webhook load for this long (default 30)")
    parser.add_argument("--ramp", type=float, default=3.0,
                        help="webhook load alone before the slash commands start (default 3)")
    parser.add_argument("--note-incidents", type=int, default=4, help="incident channels the notes go to (default 4)")
    parser.add_argument("--rate-scale", type=float, default=1.0,
                        help="divide Slack's rate-limit windows by this, emulator and bot alike (default 1: Slack's "
                        "own limits)")
    parser.add_argument("--seed", type=int, default=1, help="webhook workload seed (default 1)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the processes to CPUs")
    parser.add_argument("--show-logs", action="store_true", help="print the tail of the bot's log")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures to FILE (for run_all.py)")
    parser.add_argument("--loadgen", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--loadgen-url", help=argparse.SUPPRESS)
    parser.add_argument("--loadgen-seconds", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.webhook_rate, args.slash_rate, args.baseline_seconds, args.load_seconds) <= 0 or args.ramp < 0 \
            or args.note_incidents < 1:
        parser.error("rates and durations must be positive, --note-incidents >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.loadgen:  # the child: the parent stops it with SIGTERM if need be
        result = asyncio.run(loadgen(args.loadgen_url, WEBHOOK_TOKEN, args.webhook_rate, args.loadgen_seconds,
                                     args.seed))
        print(json.dumps(result), flush=True)
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-slash-ack-") as tmp:
        try:
            return asyncio.run(interruptible(lambda: run(args, Path(tmp)), "processes stopped, temporary files removed"))
        except RuntimeError as exc:
            print(f"FAILED: {exc}", file=sys.stderr)
            return 1
        finally:  # normally nothing is left; this covers a crash that skipped the async clean-up
            for proc in list(_CHILDREN):
                stop_process(proc)
            stop_all()


if __name__ == "__main__":
    sys.exit(main())
