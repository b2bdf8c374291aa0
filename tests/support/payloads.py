"""Alertmanager webhook bodies for tests: the captured ones and generated groups."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import FIXTURES

CAPTURED = FIXTURES / "alertmanager-0.25"
GO_ZERO = "0001-01-01T00:00:00Z"


def captured(name: str) -> bytes:
    """One of the real payloads: 1-firing, 2-one-resolved, 3-all-resolved."""
    return (CAPTURED / f"{name}.json").read_bytes()


def group(alertname: str = "HighErrorRate", *, service: str = "checkout", alerts: int = 2,
          severity: str = "critical", status: str = "firing", start: datetime | None = None,
          extra_labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A version-4 payload for one group with ``alerts`` alerts, fingerprints derived from labels."""
    start = start or datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    common = {"alertname": alertname, "service": service, "severity": severity, **(extra_labels or {})}
    items = []
    for i in range(alerts):
        labels = {**common, "instance": f"10.0.{i // 250}.{i % 250}:8080"}
        items.append({
            "status": status, "labels": labels,
            "annotations": {"summary": f"{alertname} on {labels['instance']}", "runbook_url": "https://runbooks.example.com/x"},
            "startsAt": (start + timedelta(microseconds=i)).isoformat().replace("+00:00", "Z"),
            "endsAt": GO_ZERO if status == "firing" else (start + timedelta(minutes=5)).isoformat().replace("+00:00", "Z"),
            "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1",
            "fingerprint": hashlib.sha256(f"{alertname}/{service}/{i}".encode()).hexdigest()[:16],
        })
    return {
        "version": "4", "groupKey": f'{{}}:{{alertname="{alertname}", service="{service}"}}',
        "truncatedAlerts": 0, "status": status, "receiver": "bot",
        "groupLabels": {"alertname": alertname, "service": service}, "commonLabels": common,
        "commonAnnotations": {}, "externalURL": "http://alertmanager.example.com:9093", "alerts": items,
    }


def body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()
