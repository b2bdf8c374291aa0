"""Slack delivery overhead: from the webhook's 200 to the incident's header pinned in Slack.

The real bot (``incident-bot serve``, a subprocess on a fresh SQLite file) against the
project's strict Slack emulator (``tests/slack_emulator``, served from this process's event
loop on 127.0.0.1) with no injected delay and Slack's rate-limit windows divided by
``--rate-scale`` (1000) in the emulator and in the bot's pacing alike, so neither Slack nor
pacing dominates: what is left is the bot's own path (outbox claim, the Slack call through
slack_sdk, recording the result) for each opening action up to the pin.

Each incident is one new Alertmanager group (2 firing alerts, ``severity=critical`` ->
SEV1, its own alertname/service/cluster). The playbook is
tests/fixtures/playbooks/slack/incidents.yml with the storm guard removed and
``responders: [UDAVE]`` (a user the emulator knows).

Timing, all ``time.monotonic()`` (CLOCK_MONOTONIC, 1 ns resolution) in this process:
t0 when the ``POST /alertmanager`` answered 200 and its body was read; t1 the emulator's
``Call.at`` of the successful ``pins.add`` in that incident's channel (stamped when the
emulator answered it). The incident's channel is found through the incident id in the
webhook's answer and its ``channel_name`` in the bot's SQLite file (read-only).

Two modes, run in turn on the same bot: ``1 at a time`` (the next webhook is sent once the
previous incident's opening work is over: none of its outbox rows is pending any more) and
``N at a time`` (``--concurrency``, default 4: N workers, each sending its next webhook as
soon as its previous incident's header is pinned).

    .venv/bin/python bench/slack_delivery.py
    .venv/bin/python bench/slack_delivery.py --incidents 50 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
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
    PLAYBOOK_SOURCE,
    TOKEN,
    USABLE_CPUS,
    WEBHOOK_TOKEN,
    Results,
    bot_env,
    code_version,
    free_port,
    percentile,
    pick_cpus,
    pin_to,
    process_cpu_seconds,
    run_queue_wait,
    start_bot,
    start_emulator,
    stop_all,
    stop_process,
    wait_healthy,
    write_playbook,
)
from bench.interrupt import run_in_temporary_directory  # noqa: E402
from bench.webhook_ingest import GroupSpec, group_body  # noqa: E402
from tests.slack_emulator import Call, SlackEmulator  # noqa: E402

PIN_TIMEOUT = 15.0  # seconds to wait for one incident's pin before counting it missing
SETTLE_TIMEOUT = 5.0


# ---------------------------------------------------------------------------------------
# Watching the emulator
# ---------------------------------------------------------------------------------------

class CallLog(list):  # type: ignore[type-arg]
    """Stands in for ``emu.calls`` (set before ``start()``): records like a list, and also
    indexes each channel's first successful ``pins.add`` and wakes whoever waits for a call."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = asyncio.Event()
        self.pinned_at: dict[str, float] = {}

    def append(self, call: Call) -> None:  # type: ignore[override]
        super().append(call)
        if call.method == "pins.add" and call.ok:
            self.pinned_at.setdefault(str(call.args.get("channel")), call.at)
        self.changed.set()

    async def wait(self, predicate: Any, deadline: float) -> bool:
        """Until ``predicate()`` holds (True) or ``deadline`` (monotonic) passes (False)."""
        while True:
            self.changed.clear()
            if predicate():
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self.changed.wait(), remaining)
            except TimeoutError:
                pass



def channel_of(call: Call) -> str | None:
    return call.args.get("channel") or call.args.get("channel_id")


# ---------------------------------------------------------------------------------------
# The measurement
# ---------------------------------------------------------------------------------------

@dataclass
class Sample:
    incident_id: int
    channel_name: str
    sent: float  # monotonic: POST sent
    acked: float  # monotonic: 200 read (t0)
    channel_id: str | None = None
    pinned: float | None = None  # monotonic: Call.at of pins.add (t1)
    calls: int = 0  # emulator calls for this incident (its channel + conversations.create)
    calls_before_pin: int = 0
    last_call: float | None = None
    methods: Counter[str] = field(default_factory=Counter)


@dataclass
class Phase:
    name: str
    concurrency: int
    samples: list[Sample] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    bot_cpu: float | None = None
    bot_wait: float | None = None  # run-queue wait of the bot's threads in the phase, seconds
    truncated: bool = False

    @property
    def pinned(self) -> list[Sample]:
        return [s for s in self.samples if s.pinned is not None]


class Driver:
    """Opens incidents by webhook and follows each to its pin; also used by bench/slash_ack.py."""

    def __init__(self, bot_url: str, db_path: Path, slack: SlackEmulator, log: CallLog, *,
                 max_seconds: float = 40.0) -> None:
        self.bot_url = bot_url
        self.slack = slack
        self.log = log
        self.max_seconds = max_seconds
        self.serial = 0
        self.samples: list[Sample] = []  # every incident opened, warm-up included
        # Read-only, autocommit: each query sees the latest commit and never blocks the bot (WAL).
        self.db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10, isolation_level=None)
        self.headers = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}

    def next_body(self, prefix: str) -> bytes:
        self.serial += 1
        spec = GroupSpec("SlackDeliveryBench", f"{prefix}-{self.serial:04d}", "critical",
                         f"{prefix}-cluster-{self.serial:04d}")
        return group_body(spec, alerts=2)

    def close(self) -> None:
        self.db.close()

    def channel_name(self, incident_id: int) -> str:
        """Set in the transaction that stored the incident, so it is there once the 200 is."""
        row = self.db.execute("SELECT channel_name FROM incidents WHERE id = ?", (incident_id,)).fetchone()
        if row is None or not row[0]:
            raise RuntimeError(f"incident {incident_id} has no channel name in the database")
        return str(row[0])

    async def drained(self, incident_id: int | None = None, timeout: float = SETTLE_TIMEOUT) -> bool:
        """Until no outbox row (of ``incident_id``, or at all) is pending: its Slack work is over."""
        query = "SELECT 1 FROM outbox WHERE state = 'pending'" + (" AND incident_id = ?" if incident_id else "")
        params = (incident_id,) if incident_id else ()
        deadline = time.monotonic() + timeout
        while self.db.execute(query + " LIMIT 1", params).fetchone() is not None:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    async def one(self, session: aiohttp.ClientSession, prefix: str, phase: Phase | None,
                  settle: bool) -> Sample | None:
        """Open one incident; the sample once its header is pinned (or the wait timed out)."""
        body = self.next_body(prefix)
        sent = time.monotonic()
        try:
            async with session.post(f"{self.bot_url}/alertmanager", data=body, headers=self.headers) as resp:
                text = await resp.text()
                acked = time.monotonic()
                status = resp.status
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            text, status, acked = f"{type(exc).__name__}: {exc}", 0, time.monotonic()
        answer: dict[str, Any] = {}
        if status == 200:
            try:
                answer = json.loads(text)
            except ValueError:
                pass
        if status != 200 or answer.get("outcome") != "open":
            problem = f"webhook answered {status} {text[:300]!r}, expected 200 with outcome 'open'"
            if phase is None:
                raise RuntimeError(problem)
            phase.failures.append(problem)
            return None
        sample = Sample(int(answer["incident"]), self.channel_name(int(answer["incident"])), sent, acked)
        self.samples.append(sample)

        def pinned() -> bool:
            if sample.channel_id is None:
                channel = self.slack.channel_by_name(sample.channel_name)
                sample.channel_id = channel.id if channel is not None else None
            return sample.channel_id is not None and sample.channel_id in self.log.pinned_at

        if await self.log.wait(pinned, acked + PIN_TIMEOUT):
            assert sample.channel_id is not None
            sample.pinned = self.log.pinned_at[sample.channel_id]
        elif phase is not None:
            phase.failures.append(f"incident {sample.incident_id} ({sample.channel_name}): no pins.add within "
                                  f"{PIN_TIMEOUT:.0f}s")
        if settle and not await self.drained(sample.incident_id) and phase is not None:
            phase.failures.append(f"incident {sample.incident_id}: opening work still pending after "
                                  f"{SETTLE_TIMEOUT:.0f}s")
        if phase is not None:
            phase.samples.append(sample)
        return sample

    async def run(self, phase: Phase | None, count: int, concurrency: int, prefix: str, bot_pid: int) -> None:
        settle = concurrency == 1
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=concurrency)) as session:
            await self.drained()  # the previous phase's tail
            remaining = iter(range(count))
            started = time.monotonic()
            deadline = started + self.max_seconds
            cpu_before, wait_before = process_cpu_seconds(bot_pid), run_queue_wait(bot_pid)

            async def worker() -> None:
                for _ in remaining:
                    if time.monotonic() > deadline:
                        if phase is not None:
                            phase.truncated = True
                        return
                    await self.one(session, prefix, phase, settle)

            await asyncio.gather(*(worker() for _ in range(concurrency)))
            if phase is not None:
                phase.elapsed = time.monotonic() - started
                cpu_after, wait_after = process_cpu_seconds(bot_pid), run_queue_wait(bot_pid)
                if cpu_before is not None and cpu_after is not None:
                    phase.bot_cpu = cpu_after - cpu_before
                if wait_before is not None and wait_after is not None:
                    phase.bot_wait = wait_after - wait_before
            await self.drained()  # the last incidents' opening work, so that all their calls are counted


def attribute(samples: list[Sample], calls: list[Call]) -> Counter[str]:
    """Fill each sample's call counts; returns the calls not tied to any incident."""
    by_channel = {s.channel_id: s for s in samples if s.channel_id is not None}
    by_name = {s.channel_name: s for s in samples}
    other: Counter[str] = Counter()
    for call in calls:
        sample = by_name.get(str(call.args.get("name"))) if call.method == "conversations.create" \
            else by_channel.get(channel_of(call))
        if sample is None:
            other[call.method] += 1
            continue
        sample.calls += 1
        sample.methods[call.method] += 1
        sample.last_call = call.at if sample.last_call is None else max(sample.last_call, call.at)
        if sample.pinned is not None and call.at <= sample.pinned:
            sample.calls_before_pin += 1
    return other


async def idle_cpu(pid: int, seconds: float) -> float | None:
    """The bot's CPU share while nothing is sent (its timers and polling)."""
    before = process_cpu_seconds(pid)
    await asyncio.sleep(seconds)
    after = process_cpu_seconds(pid)
    return None if before is None or after is None else (after - before) / seconds


async def emulator_round_trip(slack: SlackEmulator, calls: int = 50) -> tuple[float, float]:
    """p50 ms of ``auth.test`` from this process: a new connection per call (what slack_sdk's
    AsyncWebClient does without a session) and one kept-alive connection."""
    url = f"{slack.api_url}auth.test"
    data = {"token": TOKEN}
    slack.reset_rate_limits()  # 50 + 50 calls stay under auth.test's 100 a (scaled) minute
    fresh: list[float] = []
    for _ in range(calls):
        started = time.perf_counter()
        async with aiohttp.ClientSession() as session, session.post(url, data=data) as resp:
            await resp.read()
        fresh.append(time.perf_counter() - started)
    reused: list[float] = []
    async with aiohttp.ClientSession() as session:
        for _ in range(calls):
            started = time.perf_counter()
            async with session.post(url, data=data) as resp:
                await resp.read()
            reused.append(time.perf_counter() - started)
    return statistics.median(fresh) * 1000, statistics.median(reused) * 1000


# ---------------------------------------------------------------------------------------
# The run and the report
# ---------------------------------------------------------------------------------------

async def run(args: argparse.Namespace, workdir: Path) -> int:
    started_at = datetime.now(UTC)
    load_before = os.getloadavg()
    own_cpu, bot_cpu = pick_cpus(not args.no_pin)
    pin_to(own_cpu)
    playbooks = write_playbook(workdir / "playbooks")
    db_path = workdir / "bench.db"
    log_path = workdir / "bot.log"

    calls = CallLog()
    slack = await start_emulator(args.rate_scale, calls)
    proc: subprocess.Popen[bytes] | None = None
    driver: Driver | None = None
    phases: list[Phase] = []
    try:
        port = free_port()
        proc = start_bot(bot_env(workdir, f"sqlite+aiosqlite:///{db_path}", playbooks, port, slack.api_url,
                                 args.rate_scale), log_path, bot_cpu)
        bot_url = f"http://{HOST}:{port}"
        await wait_healthy(bot_url, proc, log_path)
        print(f"slack delivery benchmark: bot pid {proc.pid} on {bot_url}, emulator at {slack.api_url}, "
              f"work files in {workdir} (removed at the end)", flush=True)
        driver = Driver(bot_url, db_path, slack, calls, max_seconds=args.max_seconds)
        print(f"  warm-up: {args.warmup} incidents, 1 at a time ...", flush=True)
        await driver.run(None, args.warmup, 1, "warmup", proc.pid)
        idle = await idle_cpu(proc.pid, 2.0)
        for concurrency in args.concurrency:
            phase = Phase(f"{concurrency} at a time", concurrency)
            print(f"  {phase.name}: {args.incidents} incidents ...", flush=True)
            await driver.run(phase, args.incidents, concurrency, f"c{concurrency}", proc.pid)
            phases.append(phase)
            if proc.poll() is not None:
                log_tail = log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"bot exited with {proc.returncode}:\n{log_tail}")
        bot_calls = list(calls)
        fresh_ms, reused_ms = await emulator_round_trip(slack)
    finally:
        if driver is not None:
            driver.close()
        if proc is not None:
            stop_process(proc)
        await slack.stop()

    assert driver is not None
    other = attribute(driver.samples, bot_calls)
    print_report(args, phases, bot_calls, other, started_at, load_before, (own_cpu, bot_cpu), fresh_ms, reused_ms,
                 idle)
    if args.show_logs:
        print(f"--- bot log (tail) ---\n{log_path.read_text(errors='replace')[-3000:]}")
    results(args, phases, fresh_ms).write(args.json)
    ok = all(not p.failures and len(p.pinned) == args.incidents for p in phases)
    return 0 if ok else 1


def results(args: argparse.Namespace, phases: list[Phase], fresh_ms: float) -> Results:
    """The floor of ack -> pin: the Slack calls an incident makes up to its pin, each one round
    trip from this process to the emulator on a new connection (as slack_sdk makes them)."""
    out = Results("slack_delivery", f"{args.incidents} incidents per mode after {args.warmup} warm-up, bot on "
                  f"SQLite against the Slack emulator, rate-limit windows / {args.rate_scale:g}")
    for p in phases:
        to_pin = [(s.pinned - s.acked) * 1000 for s in p.pinned if s.pinned is not None]
        before = statistics.fmean([s.calls_before_pin for s in p.pinned]) if p.pinned else float("nan")
        floor = f"{before:.0f} Slack calls up to the pin x one emulator round trip ({fresh_ms:.2f} ms, new connection)"
        for label, q in (("p50", 0.5), ("p99", 0.99)):
            out.add(f"alert -> header pinned, {p.name}, {label}", percentile(to_pin, q), "ms", baseline=floor,
                    baseline_value=before * fresh_ms)
        out.notes.append(f"{p.name}: {len(p.pinned)}/{len(p.samples)} pinned in {p.elapsed:.1f}s"
                         + (f"; stopped after --max-seconds {args.max_seconds:g}" if p.truncated else ""))
        out.failures.extend(f"{p.name}: {failure}" for failure in p.failures[:5])
    return out


def ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value * 1000:.1f}"


def print_report(args: argparse.Namespace, phases: list[Phase], calls: list[Call], other: Counter[str],
                 started_at: datetime,
                 load_before: tuple[float, ...], pins: tuple[int | None, int | None], fresh_ms: float,
                 reused_ms: float, idle: float | None) -> None:
    print()
    print(f"incident-bot Slack delivery benchmark, {started_at.strftime('%Y-%m-%d %H:%M:%S UTC')}")
    print(f"machine: nproc {os.cpu_count()} (usable {USABLE_CPUS}), {platform.machine()}, {platform.platform()}; "
          f"python {platform.python_version()}; aiohttp {aiohttp.__version__}")
    load_after = os.getloadavg()
    print(f"load average: {' '.join(f'{x:.2f}' for x in load_before)} before, "
          f"{' '.join(f'{x:.2f}' for x in load_after)} after")
    if load_before[0] > 0.5 * USABLE_CPUS:
        print("note: other work was running before this benchmark started; these numbers are noisy, run it again")
    own, bot = pins
    print("cpu pinning: " + (f"benchmark + emulator on cpu {own}, bot on cpu {bot}" if own is not None else "none"))
    print(f"code: {code_version()}")
    print(f"setup: bot on a fresh SQLite file; Slack emulator in this process, no injected delay, rate-limit windows "
          f"/ {args.rate_scale:g} (emulator and SLACK_RATE_LIMIT_SCALE); playbook {PLAYBOOK_SOURCE.relative_to(REPO)} "
          f"without storm guard, responders [UDAVE]; {args.warmup} warm-up incidents not measured")
    print("each incident: one new Alertmanager group, 2 firing alerts, severity=critical (SEV1), its own "
          "alertname/service/cluster")
    print("t0 = webhook 200 read, t1 = emulator's successful pins.add in the incident's channel (both "
          "time.monotonic in this process)")
    print()
    header = (f"{'mode':<13}{'pinned':>9}{'ack->pin p50':>14}{'p99':>8}{'max':>8}{'mean':>8}{'webhook ack p50':>17}"
              f"{'ack->all done p50':>19}{'p99':>8}{'calls/incident':>16}{'before pin':>12}")
    print(header)
    print("-" * len(header))
    for p in phases:
        done = p.pinned
        to_pin = [s.pinned - s.acked for s in done if s.pinned is not None]
        ack = [s.acked - s.sent for s in p.samples]
        settled = [s.last_call - s.acked for s in done if s.last_call is not None]
        per_incident = [s.calls for s in done]
        before = [s.calls_before_pin for s in done]
        print(f"{p.name:<13}{len(done):>5}/{len(p.samples):<3}{ms(percentile(to_pin, 0.5)):>14}"
              f"{ms(percentile(to_pin, 0.99)):>8}{ms(max(to_pin, default=float('nan'))):>8}"
              f"{ms(statistics.fmean(to_pin) if to_pin else float('nan')):>8}{ms(percentile(ack, 0.5)):>17}"
              f"{ms(percentile(settled, 0.5)):>19}{ms(percentile(settled, 0.99)):>8}"
              f"{statistics.fmean(per_incident) if per_incident else float('nan'):>16.1f}"
              f"{statistics.fmean(before) if before else float('nan'):>12.1f}")
    print("(times in ms; p99 is nearest rank, so with 100 incidents the second largest; 'ack->all done' is t0 to "
          "the incident's last Slack call; 'calls/incident' counts every emulator call in the incident's channel "
          "plus its conversations.create, 'before pin' those up to and including pins.add)")
    print()
    for p in phases:
        methods: Counter[str] = Counter()
        for s in p.pinned:
            methods.update(s.methods)
        n = max(1, len(p.pinned))
        print(f"{p.name}: Slack calls per incident by method: "
              + ", ".join(f"{m} {c / n:g}" for m, c in sorted(methods.items(), key=lambda kv: -kv[1])))
        if p.bot_cpu is not None and p.samples and p.elapsed > 0:
            wait = f"{100 * p.bot_wait / p.elapsed:.0f}%" if p.bot_wait is not None else "?"
            idle_share = "?" if idle is None else f"{100 * idle:.0f}%"
            print(f"{p.name}: bot CPU {p.bot_cpu / len(p.samples) * 1000:.1f} ms per incident "
                  f"({100 * p.bot_cpu / p.elapsed:.0f}% of one core over {p.elapsed:.1f}s, idle bot {idle_share}); "
                  f"its threads waited {wait} of the time for a CPU (for each other or other work on its core)")
        if p.truncated:
            print(f"{p.name}: stopped after --max-seconds {args.max_seconds:g}: {len(p.samples)} incidents")
        for failure in p.failures[:5]:
            print(f"{p.name}: FAILED: {failure}")
    if other:
        print("Slack calls not tied to an incident (whole run): " + ", ".join(f"{m} {c}" for m, c in other.items()))
    not_ok = Counter(f"{c.method} {c.http_status} {c.error}" for c in calls if not c.ok)
    print("emulator answers that were not ok: " + (", ".join(f"{k} x{v}" for k, v in not_ok.items()) or "none")
          + f" (of {len(calls)} calls)")
    print(f"reference, one auth.test from this process to the emulator: p50 {fresh_ms:.2f} ms on a new connection "
          f"(slack_sdk's AsyncWebClient without a session opens one per call), {reused_ms:.2f} ms kept alive")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Webhook 200 -> header pinned in Slack: the bot's own overhead.")
    parser.add_argument("--incidents", type=int, default=100, help="measured incidents per mode (default 100)")
    parser.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 4],
                        help="comma-separated modes: incidents in flight at a time (default 1,4)")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured incidents first (default 3)")
    parser.add_argument("--rate-scale", type=float, default=1000.0,
                        help="divide Slack's rate-limit windows by this, in the emulator and the bot (default 1000)")
    parser.add_argument("--max-seconds", type=float, default=40.0,
                        help="stop a mode after this long, so a slow bot cannot stretch the run (default 40)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the bot and this process to separate CPUs")
    parser.add_argument("--show-logs", action="store_true", help="print the tail of the bot's log")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures to FILE (for run_all.py)")
    args = parser.parse_args(argv)
    if args.incidents < 1 or args.warmup < 0 or any(c < 1 for c in args.concurrency):
        parser.error("--incidents and --concurrency must be >= 1, --warmup >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_in_temporary_directory(lambda tmp: run(args, tmp), "bench-slack-delivery-",
                                      "bot stopped, temporary files removed", stop_all)


if __name__ == "__main__":
    sys.exit(main())
