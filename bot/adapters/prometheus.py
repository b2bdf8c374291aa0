"""Trace ids for an incident: from alert labels and annotations, and from Prometheus
exemplars of the alerting expression around the time it started firing.

The query is bounded in time; a slow, failing or empty Prometheus yields no ids and a
reason, never an exception: the incident opens as usual either way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from bot.adapters.peer import PeerClient

TRACE_KEYS = ("trace_id", "traceid", "traceID", "trace-id", "TraceID")
_TRACE_ID = re.compile(r"^[0-9a-fA-F]{16,32}$")
WINDOW = timedelta(minutes=10)
MAX_TRACES = 3


@dataclass(frozen=True)
class ExemplarResult:
    trace_ids: list[str]
    problem: str | None = None  # why Prometheus gave none, for the links message


def expression_from(generator_url: str | None) -> str | None:
    """The PromQL expression in a Prometheus ``generatorURL`` (``/graph?g0.expr=...``)."""
    if not generator_url:
        return None
    values = parse_qs(urlsplit(generator_url).query).get("g0.expr")
    return values[0] if values else None


def trace_ids_in(labels: Mapping[str, str], annotations: Mapping[str, str]) -> list[str]:
    found = []
    for source in (labels, annotations):
        for key in TRACE_KEYS:
            value = source.get(key, "").strip()
            if _TRACE_ID.match(value) and value not in found:
                found.append(value)
    return found


def pick(exemplars: Iterable[tuple[str, float, float]], limit: int = MAX_TRACES) -> list[str]:
    """The slowest exemplars' trace ids (highest value, then most recent), deduplicated."""
    chosen: list[str] = []
    for trace_id, _value, _ts in sorted(exemplars, key=lambda e: (-e[1], -e[2])):
        if trace_id not in chosen:
            chosen.append(trace_id)
        if len(chosen) == limit:
            break
    return chosen


class PrometheusClient(PeerClient):
    """Exemplar lookups over one connection pool kept for the bot's lifetime; ``aclose`` it at shutdown."""

    def __init__(self, base_url: str, timeout: float = 3.0) -> None:
        super().__init__(base_url, timeout)

    async def exemplar_trace_ids(self, expression: str, around: datetime) -> ExemplarResult:
        params: dict[str, str | float] = {"query": expression, "start": (around - WINDOW).timestamp(),
                                          "end": (around + WINDOW).timestamp()}
        import httpx  # with the first call (bot/adapters/peer.py)

        try:
            response = await self._http.get(f"{self._base}/api/v1/query_exemplars", params=params)
            response.raise_for_status()
            body = response.json()
        except httpx.TimeoutException:
            return ExemplarResult([], f"Prometheus did not answer within {self._timeout:g}s")
        except (httpx.HTTPError, ValueError) as exc:
            return ExemplarResult([], f"Prometheus query failed ({type(exc).__name__})")
        exemplars = []
        for series in body.get("data") or []:
            for exemplar in series.get("exemplars") or []:
                labels = exemplar.get("labels") or {}
                trace_id = next((str(labels[k]) for k in TRACE_KEYS if labels.get(k)), None)
                if trace_id:
                    try:
                        exemplars.append((trace_id, float(exemplar.get("value", 0)),
                                          float(exemplar.get("timestamp", 0))))
                    except (TypeError, ValueError):
                        continue
        return ExemplarResult(pick(exemplars), None if exemplars else "no exemplars with trace ids")
