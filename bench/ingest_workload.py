"""The webhook benchmarks' workloads: Alertmanager-like version-4 bodies, all built before
anything is timed.

- ``mixed`` (:func:`build_workload`): a pool of groups, each first delivered once, then
  re-sent unchanged (Alertmanager's repeat_interval) or moved to its next state (its oldest
  alert resolved, one new alert firing);
- ``fresh`` (:func:`build_rounds`): the issue's load: every group delivered once per round,
  each delivery carrying ``alerts`` alerts never seen before (a new instance each), so every
  delivery stores that many new alerts and none is a duplicate.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

GO_ZERO = "0001-01-01T00:00:00Z"
BASE_TIME = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
ALERTNAMES = (
    "HighErrorRate", "HighLatencyP99", "PodCrashLooping", "DiskWillFillIn4Hours", "TargetDown",
    "KafkaConsumerLag", "CertificateExpiresSoon", "NodeMemoryPressure", "SLOBurnRateFast", "QueueBacklogGrowing",
)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class GroupSpec:
    alertname: str
    service: str
    severity: str
    cluster: str
    version: int = 0
    body: bytes = b""


def group_body(spec: GroupSpec, alerts: int, *, first_new: int | None = None) -> bytes:
    """One version-4 webhook body for ``spec`` at ``spec.version``.

    Version 0: alerts 0..alerts-1 firing. Version v >= 1: alert v-1 resolved and alerts
    v..v+alerts-2 firing, so every version carries ``alerts`` alerts, resolves the oldest
    one and (from v = 2) adds one new firing alert. Same shape as tests/support/payloads.group().
    ``first_new``: instead, alerts first_new..first_new+alerts-1, all firing.
    """
    version = spec.version
    common = {"alertname": spec.alertname, "service": spec.service, "severity": spec.severity,
              "cluster": spec.cluster}
    if first_new is not None:
        version, indices = 0, range(first_new, first_new + alerts)
    else:
        indices = range(alerts) if version == 0 else range(version - 1, version - 1 + alerts)
    items = []
    for i in indices:
        resolved = version > 0 and i == version - 1
        labels = {**common, "instance": f"10.0.{i // 250}.{i % 250}:8080"}
        items.append({
            "status": "resolved" if resolved else "firing",
            "labels": labels,
            "annotations": {"summary": f"{spec.alertname} on {labels['instance']}",
                            "runbook_url": "https://runbooks.example.com/x"},
            "startsAt": _iso(BASE_TIME + timedelta(minutes=i)),
            "endsAt": _iso(BASE_TIME + timedelta(minutes=version + alerts)) if resolved else GO_ZERO,
            "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1",
            "fingerprint": hashlib.sha256(f"{spec.alertname}/{spec.service}/{i}".encode()).hexdigest()[:16],
        })
    status = "firing" if any(item["status"] == "firing" for item in items) else "resolved"
    payload = {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{spec.alertname}", service="{spec.service}"}}',
        "truncatedAlerts": 0, "status": status, "receiver": "incident-bot",
        "groupLabels": {"alertname": spec.alertname, "service": spec.service}, "commonLabels": common,
        "commonAnnotations": {}, "externalURL": "http://alertmanager.example.com:9093", "alerts": items,
    }
    return json.dumps(payload).encode()


@dataclass
class Workload:
    bodies: list[bytes]
    planned: Counter[str]
    groups: int


def build_workload(*, prefix: str, requests: int, groups: int, alerts: int, update_share: float,
                   seed: int, storm: bool = False) -> Workload:
    """``storm``: every group in one cluster, so the default playbook's storm guard (a few new
    incidents per cluster per window) makes later critical groups join one storm incident.
    Otherwise each group has its own cluster and every critical group opens its own incident."""
    rng = random.Random(seed)
    groups = max(1, min(groups, requests))
    specs = _specs(prefix, groups, storm)
    # First deliveries spread evenly over the run (distinct positions since requests >= groups).
    first_at = {round(g * requests / groups): g for g in range(groups)}
    introduced: list[GroupSpec] = []
    bodies: list[bytes] = []
    planned: Counter[str] = Counter()
    for position in range(requests):
        if position in first_at:
            spec = specs[first_at[position]]
            spec.body = group_body(spec, alerts)
            introduced.append(spec)
            planned[f"new {spec.severity} group"] += 1
        else:
            spec = rng.choice(introduced)
            if rng.random() < update_share:
                spec.version += 1
                spec.body = group_body(spec, alerts)
                planned[f"update of a {spec.severity} group"] += 1
            else:
                planned["identical re-send"] += 1
        bodies.append(spec.body)
    return Workload(bodies, planned, groups)


def _specs(prefix: str, groups: int, storm: bool) -> list[GroupSpec]:
    return [
        GroupSpec(ALERTNAMES[g % len(ALERTNAMES)], f"{prefix}-{g:04d}", "critical" if g % 2 == 0 else "warning",
                  f"{prefix}-cluster" if storm else f"{prefix}-cluster-{g:04d}")
        for g in range(groups)
    ]


def build_rounds(*, prefix: str, requests: int, groups: int, alerts: int, seed: int,
                 storm: bool = False) -> Workload:
    """``requests`` deliveries in rounds of every group once (in a shuffled order each round),
    each delivery with ``alerts`` new firing alerts: round r carries the group's alerts
    r*alerts .. r*alerts+alerts-1. Round 0 opens the critical groups' incidents and records
    the warning ones; later rounds join or record."""
    rng = random.Random(seed)
    groups = max(1, min(groups, requests))
    specs = _specs(prefix, groups, storm)
    bodies: list[bytes] = []
    planned: Counter[str] = Counter()
    round_index = 0
    while len(bodies) < requests:
        order = list(range(groups))
        rng.shuffle(order)
        for g in order[:requests - len(bodies)]:
            spec = specs[g]
            bodies.append(group_body(spec, alerts, first_new=round_index * alerts))
            planned[f"{'new' if round_index == 0 else 'next round of a'} {spec.severity} group"] += 1
        round_index += 1
    return Workload(bodies, planned, groups)
