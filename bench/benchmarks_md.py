"""BENCHMARKS.md from one run of bench/run_all.py: only what that run measured. The run's
records are bench/results.py's."""

from __future__ import annotations

from bench.results import FigureData, Outcome, Run

# The issue's targets, by benchmark, for the summary when a benchmark did not produce figures.
ISSUE_TARGETS = {
    "webhook_ingest": "webhook ingest, bot on SQLite: >= 300 deliveries/s with p99 < 100 ms",
    "slash_ack": "slash-command acknowledgement under 100 webhooks/s: p99 < 300 ms for help and note",
    "impulse": "webhook ingest side by side with IMPulse: the bot >= 1.5x IMPulse's deliveries/s in every repetition",
    "web_pages": "web workspace, incident page with 50,000 events: first page <= 150 ms, <= 1.5x the page of a "
                 "500-event incident",
    "tracing_overhead": "tracing on (every trace sampled, exported) against off: >= 0.85 of the throughput",
    "slack_delivery": "outbox: <= 4 ms of CPU per Slack action; alert -> header pinned p50 <= 3x the emulator's "
                      "round trips one at a time, <= 8x four at a time",
    "scheduler_lag": "1,000 reminders due at once in Slack within 1.3x of what Slack's rate limit alone allows",
    "startup_time": "a restart ready (exec -> /readyz) within 2x `python -c \"import aiohttp\"`",
    "resident_memory": "resident memory with 1,000 open incidents <= 1.1x the same bot idle",
}
# Benchmarks a default run leaves out, and the flag of run_all.py that adds them.
OPT_IN = {"impulse": "--impulse"}


def number(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def quantity(value: float, unit: str) -> str:
    return f"{number(value)}{unit}" if unit.startswith("/") else f"{number(value)} {unit}"


def ratio(figure: FigureData) -> str:
    baseline = figure.get("baseline_value")
    if baseline is None or baseline == 0:
        return "—"
    value = figure["value"] / baseline
    return f"{value:.2f}" if value >= 0.1 else f"{value:.3f}"


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(run: Run) -> str:
    lines = ["# Benchmarks", ""]
    when = run.started.strftime("%Y-%m-%d %H:%M UTC")
    took = f"{run.seconds:.0f} seconds" if run.seconds < 120 else f"{run.seconds / 60:.1f} minutes"
    lines.append(f"Written by `bench/run_all.py` on {when}; the run took {took}. Every figure "
                 "below was measured in this run. Each baseline was measured in the same run, or derived from figures "
                 "of the same run as its description says; ratio = figure ÷ baseline. How each benchmark measures is "
                 "in [bench/README.md](bench/README.md).")
    lines.append("")
    if run.quick:
        lines += [("**Quick run (`--quick`)**: smaller sizes and shorter phases than the issue asks for. These "
                   "figures show that the benchmarks work, not how the bot performs; targets below are indicative."),
                  ""]
    lines += [f"- Command: `{run.command}` (from the repository root)",
              f"- Code: {run.code}",
              f"- Load average (1, 5, 15 min): {_load(run.load_before)} before, {_load(run.load_after)} after", ""]
    lines += ["## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {key} | {cell(value)} |" for key, value in run.machine.items()]
    lines += [""]
    lines += _targets(run)
    for outcome in run.outcomes:
        lines += _section(outcome)
    return "\n".join(lines).rstrip() + "\n"


def _load(values: tuple[float, ...]) -> str:
    return " ".join(f"{x:.2f}" for x in values) or "?"


def _targets(run: Run) -> list[str]:
    rows = []
    ran = {o.benchmark.name: o for o in run.outcomes}
    for name, description in ISSUE_TARGETS.items():
        outcome = ran.get(name)
        if outcome is None:
            rows.append(f"| {description} | — | not run (`{OPT_IN.get(name, '--only')}`) |")
            continue
        if outcome.results is None:
            rows.append(f"| {description} | — | not measured: the benchmark failed |")
            continue
        targeted = [(f, target) for f in outcome.results["figures"] if (target := f.get("target"))]
        if not targeted:
            rows.append(f"| {description} | — | not measured (see its section) |")
        for figure, target in targeted:
            result = "met" if figure["met"] else "**not met**"
            measured = quantity(figure["value"], figure["unit"])
            rows.append(f"| {cell(figure['name'])}: {cell(target)} | {measured} | {result} |")
    return ["## Targets from the issue", "", "| target | measured | result |", "|---|---:|---|", *rows, ""]


def _section(outcome: Outcome) -> list[str]:
    benchmark = outcome.benchmark
    lines = [f"## {benchmark.title}", ""]
    status = ("stopped: " + outcome.problem) if outcome.exit_status is None else f"exit status {outcome.exit_status}"
    lines.append(f"`{' '.join(outcome.command)}`: {status}, {outcome.seconds:.0f} s.")
    lines.append("")
    results = outcome.results
    if results is None:
        tail = outcome.output.splitlines()[-40:]
        lines += [f"**FAILED**: {outcome.problem}. The last {len(tail)} lines of its output:", "", "```", *tail, "```",
                  ""]
        return lines
    if outcome.exit_status:
        lines += [(f"The script exited with status {outcome.exit_status} after writing its figures: its own check "
                   "failed (a target, or a delivery or command that failed); see below."), ""]
    if results.get("setup"):
        lines += [f"Setup: {results['setup']}.", ""]
    if results["figures"]:
        lines += ["| figure | value | baseline | baseline value | ratio | target |",
                  "|---|---:|---|---:|---:|---|"]
        for f in results["figures"]:
            baseline_value = f.get("baseline_value")
            wanted = f.get("target")
            target = "—" if not wanted else f"{cell(wanted)}: {'met' if f['met'] else '**not met**'}"
            lines.append(f"| {cell(f['name'])} | {quantity(f['value'], f['unit'])} | {cell(f.get('baseline') or '—')} "
                         f"| {quantity(baseline_value, f['unit']) if baseline_value is not None else '—'} "
                         f"| {ratio(f)} | {target} |")
        lines.append("")
    else:
        lines += ["No figures were measured.", ""]
    for note in results.get("notes", []):
        lines.append(f"- {note}")
    for failure in results.get("failures", []):
        lines.append(f"- **Problem:** {failure}")
    if results.get("notes") or results.get("failures"):
        lines.append("")
    lines += ["<details><summary>Output</summary>", "", "```", *outcome.output.rstrip().splitlines(), "```", "",
              "</details>", ""]
    return lines
