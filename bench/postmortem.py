"""Postmortem rendering: time and peak memory for incidents of 5k, 50k and 500k events.

Pure CPU, no database, no network: each incident is built in memory first, then rendered
with the shipped template by :func:`bot.postmortem.render_postmortem`, as
``incident-bot postmortem <id>`` would after loading it.

The workload is an alert storm with people working through it. Each cycle is one burst of
``--burst`` (100) alerts firing 0.3 s apart, a few human events (a note, a stakeholder
update; every 4th cycle a multi-line pinned message, every 10th a severity change, every
25th a change of commander), then the same alerts resolving in a burst 0.2 s apart, and a
quiet minute. About 98% of the events are alert events; every fired alert is also an alert
record (half the events, so 250k alerts at 500k events), across 12 alert names, and every
30th cycle someone joins the channel. Events are given in storage order
(``occurred_at``, ``id``); ``--unsorted`` shuffles them so the renderer has to sort.

For each size: the best wall time of ``--repeat`` (3) renders with tracing off
(``time.perf_counter``), then the peak memory that one more render allocates
(``tracemalloc``; the inputs themselves are built before tracing starts and not counted),
the events per second, the time per event relative to the smallest size (1.00 = linear),
the timeline rows and the size of the Markdown.

    .venv/bin/python bench/postmortem.py
    .venv/bin/python bench/postmortem.py --sizes 5000,50000 --repeat 5
    .venv/bin/python bench/postmortem.py --unsorted
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import subprocess
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Results
from bot.postmortem import AlertRecord, EventRecord, IncidentRecord, render_postmortem

START = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)  # runs across midnight and the Berlin DST change
NAMES = ("NodeDown", "KubeletNotReady", "HighErrorRate", "HighLatency", "DiskPressure", "PodCrashLooping",
         "TargetDown", "CPUThrottlingHigh", "MemoryPressure", "ProbeFailed", "QueueBacklog", "CertExpiring")
PEOPLE = ("U0AAA0001", "U0BBB0002", "U0CCC0003", "U0DDD0004", "U0EEE0005", "U0FFF0006")
SEVERITIES = ("sev3", "sev2", "sev1")


def build(target: int, burst: int, unsorted: bool) -> tuple[IncidentRecord, list[EventRecord], list[AlertRecord]]:
    events: list[EventRecord] = []
    alerts: list[AlertRecord] = []
    t = START

    def add(when: datetime, kind: str, actor: str, **data: object) -> None:
        events.append(EventRecord(len(events) + 1, when, when, kind, actor, data))

    opened = START + timedelta(seconds=90)
    add(opened, "incident.opened", "alertmanager", severity="sev3", route="default/storm", storm=True)
    add(opened, "commander.assigned", "alertmanager", commander=PEOPLE[0], source="rotation:primary")
    cycle, severity, commander, n = 0, 0, 0, 0
    while len(events) < target:
        fired: list[AlertRecord] = []
        for i in range(burst):
            name = NAMES[(n + i) % len(NAMES)]
            instance = f"node-{(n + i) % 5000:04d}"
            start = t + timedelta(seconds=0.3 * i)
            alert = AlertRecord(f"{n + i:016x}", {"alertname": name, "instance": instance, "cluster": "eu-1"},
                                {"summary": f"{name} on {instance}",
                                 "runbook_url": f"https://runbooks.example.com/{name.lower()}"},
                                start, None, "firing", f"http://prometheus:9090/graph?g0.expr={name}")
            fired.append(alert)
            add(start, "alert.fired", "alertmanager", fingerprint=alert.fingerprint, alertname=name, detail=instance,
                starts_at=start.isoformat(), labels=dict(alert.labels))
        n += burst
        t += timedelta(seconds=0.3 * burst + 5)
        person = PEOPLE[cycle % len(PEOPLE)]
        if cycle % 30 == 0:
            add(t, "participant.joined", person, user=person)
        add(t, "note.added", person, text=f"cycle {cycle}: drained {burst} nodes")
        add(t + timedelta(seconds=20), "update.posted", PEOPLE[commander],
            text=f"Storm cycle {cycle}.\nStill mitigating; next update in 30 minutes.")
        add(t + timedelta(seconds=21), "command", PEOPLE[commander], source="slash", text="update", allowed=True)
        if cycle % 4 == 0:
            add(t + timedelta(seconds=30), "message.pinned", person, ts=f"{cycle}.000100", author=PEOPLE[0],
                text="Found it:\n```kubectl get nodes```\n*bold* &lt;tag&gt;",
                permalink=f"https://example.slack.com/archives/C0STORM/p{cycle}000100", pinned_by=person)
        if cycle % 10 == 0 and severity < len(SEVERITIES) - 1:
            add(t + timedelta(seconds=31), "severity.changed", person,
                **{"from": SEVERITIES[severity], "to": SEVERITIES[severity + 1], "reason": "more nodes down",
                   "automatic": False})
            severity += 1
        if cycle % 25 == 24:
            new = (commander + 1) % len(PEOPLE)
            add(t + timedelta(seconds=32), "commander.changed", PEOPLE[new],
                **{"from": PEOPLE[commander], "to": PEOPLE[new]})
            commander = new
        t += timedelta(seconds=40)
        for i, alert in enumerate(fired):
            end = t + timedelta(seconds=0.2 * i)
            alerts.append(AlertRecord(alert.fingerprint, alert.labels, alert.annotations, alert.starts_at, end,
                                      "resolved", alert.generator_url))
            add(end, "alert.resolved", "alertmanager", fingerprint=alert.fingerprint,
                alertname=alert.labels["alertname"], detail=alert.labels["instance"],
                starts_at=alert.starts_at.isoformat(), ends_at=end.isoformat())
        t += timedelta(seconds=0.2 * burst + 60)
        cycle += 1
    add(t, "incident.resolved", PEOPLE[commander], summary="storm over")
    incident = IncidentRecord(
        id=1, title="Node storm in eu-1", severity=SEVERITIES[severity], status="resolved", source="storm",
        playbook="default", route="storm", commander=PEOPLE[commander], declared_by=None,
        channel_name="inc-20260328-1-node-storm", channel_id="C0STORM", opened_at=opened,
        acknowledged_at=opened + timedelta(minutes=2), mitigated_at=t - timedelta(minutes=5), resolved_at=t,
        roles={"scribe": PEOPLE[1], "comms": PEOPLE[2]})
    if unsorted:
        random.Random(0).shuffle(events)
        random.Random(1).shuffle(alerts)
    else:  # what the storage query returns: alerts fire before the incident opens, so ids alone are not enough
        events.sort(key=lambda e: (e.occurred_at, e.id))
    return incident, events, alerts


def measure(size: int, burst: int, repeat: int, unsorted: bool) -> dict[str, float]:
    incident, events, alerts = build(size, burst, unsorted)
    text = render_postmortem(incident, events, alerts)  # warm: template compiled, imports done
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        again = render_postmortem(incident, events, alerts)
        best = min(best, time.perf_counter() - started)
        assert again == text, "rendering is not deterministic"
    gc.collect()
    tracemalloc.start()
    render_postmortem(incident, events, alerts)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rows = sum(1 for line in text.split("## Timeline", 1)[1].split("\n## ", 1)[0].splitlines() if line.startswith("- "))
    return {"events": len(events), "alerts": len(alerts), "seconds": best, "peak": peak, "rows": rows,
            "bytes": len(text.encode())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="5000,50000,500000", help="event counts, comma-separated")
    parser.add_argument("--burst", type=int, default=100, help="alerts per burst")
    parser.add_argument("--repeat", type=int, default=3, help="timed renders per size (best is shown)")
    parser.add_argument("--unsorted", action="store_true", help="shuffle the events (the renderer sorts them)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures to FILE (for run_all.py)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).resolve().parent.parent).stdout.strip() or "?"
    except OSError:
        commit = "?"
    print(f"python {platform.python_version()} · {platform.machine()} · commit {commit} · "
          f"burst {args.burst} · {'shuffled' if args.unsorted else 'storage order'} · best of {args.repeat}")
    print(f"{'events':>8} {'alerts':>8} {'time s':>8} {'events/s':>10} {'per-event vs first':>19} "
          f"{'peak MiB':>9} {'rows':>6} {'output KiB':>11}")
    first: float | None = None
    first_events = 0
    results = Results("postmortem", f"best of {args.repeat} renders, bursts of {args.burst} alerts, "
                      f"{'shuffled' if args.unsorted else 'storage order'}, no database")
    for size in sizes:
        r = measure(size, args.burst, args.repeat, args.unsorted)
        per_event = r["seconds"] / r["events"]
        linear = {} if first is None else {"baseline": f"linear from {first_events:,} events (its time per event x N)",
                                           "baseline_value": first * r["events"] * 1000}
        if first is None:
            first, first_events = per_event, r["events"]
        results.add(f"render {r['events']:,} events", r["seconds"] * 1000, "ms", **linear)
        results.add(f"peak memory rendering {r['events']:,} events", r["peak"] / 2**20, "MiB")
        print(f"{r['events']:>8,} {r['alerts']:>8,} {r['seconds']:>8.3f} {r['events'] / r['seconds']:>10,.0f} "
              f"{per_event / first:>19.2f} {r['peak'] / 2**20:>9.1f} {r['rows']:>6,} {r['bytes'] / 1024:>11.1f}")
    results.write(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
