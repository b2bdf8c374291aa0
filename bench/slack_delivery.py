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
soon as its previous incident's header is pinned). The bot, the emulator and the opening of
incidents are bench/slack_harness.py's; this file times them.

    .venv/bin/python bench/slack_delivery.py
    .venv/bin/python bench/slack_delivery.py --incidents 50 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import (  # noqa: E402
    Results,
    Started,
    UsageMeter,
    ms,
    percentile,
    pick_cpus,
    pin_to,
    print_header,
    process_cpu_seconds,
    stop_all,
)
from bench.interrupt import run_in_temporary_directory  # noqa: E402
from bench.slack_harness import (  # noqa: E402
    PLAYBOOK_SOURCE,
    TOKEN,
    Call,
    OpenedIncident,
    SlackBot,
    SlackEmulator,
    channel_of,
    slack_bot,
)

# The targets (#18): bot CPU per Slack action, and ack -> pin p50 against the floor
# (the Slack calls up to the pin x one emulator round trip on a new connection), by mode.
TARGET_CPU_PER_ACTION_MS = 4.0
TARGET_PIN_RATIO = {1: 3.0, 4: 8.0}

# ---------------------------------------------------------------------------------------
# The measurement
# ---------------------------------------------------------------------------------------

@dataclass
class Phase:
    """One measured mode: its incidents, what went wrong, and what the bot used meanwhile."""

    name: str
    concurrency: int
    samples: list[OpenedIncident] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    bot_cpu: float | None = None
    bot_wait: float | None = None  # run-queue wait of the bot's threads in the phase, seconds
    slack_calls: int = 0  # Web API calls the emulator answered during the phase (what the bot's CPU is divided by)
    truncated: bool = False

    @property
    def cpu_per_call(self) -> float:
        """Bot CPU seconds per Slack Web API call in the phase (webhook ingest included), or NaN."""
        return self.bot_cpu / self.slack_calls if self.bot_cpu is not None and self.slack_calls else float("nan")

    @property
    def pinned(self) -> list[OpenedIncident]:
        return [s for s in self.samples if s.pinned is not None]


async def deliver(bot: SlackBot, phase: Phase | None, count: int, concurrency: int, prefix: str,
                  max_seconds: float) -> None:
    """Open ``count`` incidents, ``concurrency`` at a time (1: each once the previous one's opening
    work is over), into ``phase`` (None: a warm-up), for at most ``max_seconds``."""
    settle = concurrency == 1
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        await bot.incidents.drained()  # the previous phase's tail
        remaining = iter(range(count))
        meter = UsageMeter(bot.proc.pid)
        deadline = meter.started + max_seconds

        async def worker() -> None:
            for _ in remaining:
                if time.monotonic() > deadline:
                    if phase is not None:
                        phase.truncated = True
                    return
                opened = await bot.incidents.open(session, prefix, None if phase is None else phase.failures, settle)
                if opened is not None and phase is not None:
                    phase.samples.append(opened)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        if phase is not None:
            usage = meter.read()
            phase.elapsed, phase.bot_cpu, phase.bot_wait = usage.elapsed, usage.cpu, usage.wait
            phase.slack_calls = sum(1 for c in list(bot.calls) if meter.started <= c.at <= meter.started + usage.elapsed)
        await bot.incidents.drained()  # the last incidents' opening work, so that all their calls are counted


@dataclass
class Tally:
    """The emulator calls of one incident: in its channel, and its conversations.create."""

    calls: int = 0
    before_pin: int = 0  # up to and including its pins.add
    last_call: float | None = None  # monotonic: Call.at of the last one
    methods: Counter[str] = field(default_factory=Counter)


def attribute(opened: list[OpenedIncident], calls: list[Call]) -> tuple[dict[int, Tally], Counter[str]]:
    """Each incident's calls, by incident id; and the calls not tied to any incident."""
    tallies = {o.incident_id: Tally() for o in opened}
    by_channel = {o.channel_id: o for o in opened if o.channel_id is not None}
    by_name = {o.channel_name: o for o in opened}
    other: Counter[str] = Counter()
    for call in calls:
        if call.method == "conversations.create":
            incident = by_name.get(str(call.args.get("name")))
        else:
            channel = channel_of(call)
            incident = None if channel is None else by_channel.get(channel)
        if incident is None:
            other[call.method] += 1
            continue
        tally = tallies[incident.incident_id]
        tally.calls += 1
        tally.methods[call.method] += 1
        tally.last_call = call.at if tally.last_call is None else max(tally.last_call, call.at)
        if incident.pinned is not None and call.at <= incident.pinned:
            tally.before_pin += 1
    return tallies, other


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

@dataclass
class Measured:
    """What a run measured, for the report and the --json figures."""

    phases: list[Phase]
    calls: list[Call]  # every emulator call, warm-up included
    tallies: dict[int, Tally]  # by incident id
    other: Counter[str]  # calls not tied to an incident, by method
    fresh_ms: float  # auth.test p50 on a new connection
    reused_ms: float  # ... on a kept-alive one
    idle: float | None  # the idle bot's CPU share


async def run(args: argparse.Namespace, workdir: Path) -> int:
    started = Started.now()
    own_cpu, bot_cpu = pick_cpus(not args.no_pin)
    pin_to(own_cpu)
    phases: list[Phase] = []
    async with slack_bot("slack delivery", workdir, args.rate_scale, bot_cpu) as bot:
        print(f"  warm-up: {args.warmup} incidents, 1 at a time ...", flush=True)
        await deliver(bot, None, args.warmup, 1, "warmup", args.max_seconds)
        idle = await idle_cpu(bot.proc.pid, 2.0)
        for concurrency in args.concurrency:
            phase = Phase(f"{concurrency} at a time", concurrency)
            print(f"  {phase.name}: {args.incidents} incidents ...", flush=True)
            await deliver(bot, phase, args.incidents, concurrency, f"c{concurrency}", args.max_seconds)
            phases.append(phase)
            bot.check_alive()
        bot_calls = list(bot.calls)
        fresh_ms, reused_ms = await emulator_round_trip(bot.slack)

    tallies, other = attribute(bot.incidents.opened, bot_calls)
    measured = Measured(phases, bot_calls, tallies, other, fresh_ms, reused_ms, idle)
    pinning = f"benchmark + emulator on cpu {own_cpu}, bot on cpu {bot_cpu}" if own_cpu is not None else None
    print_report(args, measured, started, pinning)
    if args.show_logs:
        print(f"--- bot log (tail) ---\n{bot.log_tail()}")
    results(args, measured).write(args.json)
    ok = all(not p.failures and len(p.pinned) == args.incidents for p in phases)
    return 0 if ok else 1


def results(args: argparse.Namespace, measured: Measured) -> Results:
    """The floor of ack -> pin: the Slack calls an incident makes up to its pin, each one round
    trip from this process to the emulator on a new connection (as slack_sdk makes them)."""
    out = Results("slack_delivery", f"{args.incidents} incidents per mode after {args.warmup} warm-up, bot on "
                  f"SQLite against the Slack emulator, rate-limit windows / {args.rate_scale:g}")
    fresh_ms = measured.fresh_ms
    for p in measured.phases:
        to_pin = [(s.pinned - s.acked) * 1000 for s in p.pinned if s.pinned is not None]
        before = statistics.fmean([measured.tallies[s.incident_id].before_pin for s in p.pinned]) if p.pinned \
            else float("nan")
        floor = f"{before:.0f} Slack calls up to the pin x one emulator round trip ({fresh_ms:.2f} ms, new connection)"
        for label, q in (("p50", 0.5), ("p99", 0.99)):
            wanted = TARGET_PIN_RATIO.get(p.concurrency) if label == "p50" else None
            target = {} if wanted is None else {
                "target": f"<= {wanted:g}x the floor", "met": pin_target_met(p, measured) is True}
            out.add(f"alert -> header pinned, {p.name}, {label}", percentile(to_pin, q), "ms", baseline=floor,
                    baseline_value=before * fresh_ms, **target)
        out.add(f"bot CPU per Slack action, {p.name}", p.cpu_per_call * 1000, "ms",
                target=f"<= {TARGET_CPU_PER_ACTION_MS:g} ms", met=p.cpu_per_call * 1000 <= TARGET_CPU_PER_ACTION_MS)
        out.notes.append(f"{p.name}: {len(p.pinned)}/{len(p.samples)} pinned in {p.elapsed:.1f}s"
                         + (f"; stopped after --max-seconds {args.max_seconds:g}" if p.truncated else ""))
        out.failures.extend(f"{p.name}: {failure}" for failure in p.failures[:5])
    return out


def pin_ratio(phase: Phase, measured: Measured) -> float:
    """ack -> pin p50 over its floor: the calls up to the pin x one emulator round trip (new connection)."""
    to_pin = [s.pinned - s.acked for s in phase.pinned if s.pinned is not None]
    if not to_pin:
        return float("nan")
    before = statistics.fmean([measured.tallies[s.incident_id].before_pin for s in phase.pinned])
    return percentile(to_pin, 0.5) * 1000 / (before * measured.fresh_ms)


def pin_target_met(phase: Phase, measured: Measured) -> bool | None:
    """Whether the mode's ack -> pin p50 is within its target ratio; None if it has none."""
    wanted = TARGET_PIN_RATIO.get(phase.concurrency)
    return None if wanted is None else pin_ratio(phase, measured) <= wanted


def print_report(args: argparse.Namespace, measured: Measured, started: Started, pinning: str | None) -> None:
    print_header("incident-bot Slack delivery benchmark", started, pinning)
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
    phases, tallies = measured.phases, measured.tallies
    for p in phases:
        done = p.pinned
        to_pin = [s.pinned - s.acked for s in done if s.pinned is not None]
        ack = [s.acked - s.sent for s in p.samples]
        last_calls = [(s, tallies[s.incident_id].last_call) for s in done]
        settled = [last - s.acked for s, last in last_calls if last is not None]
        per_incident = [tallies[s.incident_id].calls for s in done]
        before = [tallies[s.incident_id].before_pin for s in done]
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
            methods.update(tallies[s.incident_id].methods)
        n = max(1, len(p.pinned))
        print(f"{p.name}: Slack calls per incident by method: "
              + ", ".join(f"{m} {c / n:g}" for m, c in sorted(methods.items(), key=lambda kv: -kv[1])))
        if p.bot_cpu is not None and p.samples and p.elapsed > 0:
            wait = f"{100 * p.bot_wait / p.elapsed:.0f}%" if p.bot_wait is not None else "?"
            idle_share = "?" if measured.idle is None else f"{100 * measured.idle:.0f}%"
            print(f"{p.name}: bot CPU {p.bot_cpu / len(p.samples) * 1000:.1f} ms per incident "
                  f"({100 * p.bot_cpu / p.elapsed:.0f}% of one core over {p.elapsed:.1f}s, idle bot {idle_share}); "
                  f"its threads waited {wait} of the time for a CPU (for each other or other work on its core)")
            per_call = p.cpu_per_call * 1000
            print(f"{p.name}: bot CPU per Slack action: {per_call:.2f} ms (the bot's CPU seconds over the "
                  f"{p.slack_calls} Slack Web API calls the emulator answered in the phase, webhook ingest included); "
                  f"target <= {TARGET_CPU_PER_ACTION_MS:g} ms: {'met' if per_call <= TARGET_CPU_PER_ACTION_MS else 'NOT MET'}")
        met = pin_target_met(p, measured)
        if met is not None:
            print(f"{p.name}: ack->pin p50 is {pin_ratio(p, measured):.1f}x its floor (the calls up to the pin x one "
                  f"emulator round trip on a new connection); target <= {TARGET_PIN_RATIO[p.concurrency]:g}x: "
                  f"{'met' if met else 'NOT MET'}")
        if p.truncated:
            print(f"{p.name}: stopped after --max-seconds {args.max_seconds:g}: {len(p.samples)} incidents")
        for failure in p.failures[:5]:
            print(f"{p.name}: FAILED: {failure}")
    if measured.other:
        print("Slack calls not tied to an incident (whole run): "
              + ", ".join(f"{m} {c}" for m, c in measured.other.items()))
    calls = measured.calls
    not_ok = Counter(f"{c.method} {c.http_status} {c.error}" for c in calls if not c.ok)
    print("emulator answers that were not ok: " + (", ".join(f"{k} x{v}" for k, v in not_ok.items()) or "none")
          + f" (of {len(calls)} calls)")
    print(f"reference, one auth.test from this process to the emulator: p50 {measured.fresh_ms:.2f} ms on a new "
          f"connection (slack_sdk's AsyncWebClient without a session opens one per call), {measured.reused_ms:.2f} ms "
          "kept alive")


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
