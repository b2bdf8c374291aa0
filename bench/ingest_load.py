"""The load generator of bench/webhook_ingest.py: exactly ``concurrency`` workers in a closed
loop on one ``aiohttp.ClientSession``, a warm-up that is not measured, then the measured
deliveries, with the server's (and its PostgreSQL backends') CPU time over that phase."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.common import process_cpu_seconds

WARMUP_MAX_SECONDS = 15.0


@dataclass
class Result:
    target: str
    sent: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, of 200 responses
    failures: int = 0
    failure_samples: list[str] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    truncated: bool = False
    note: str = ""
    profile: Path | None = None
    server_cpu: float | None = None  # CPU seconds the server process used in the measured phase
    client_cpu: float | None = None  # ... and the load generator
    database_cpu: float | None = None  # ... and the PostgreSQL backends serving it

    @property
    def cpu_ms_per_delivery(self) -> float | None:
        """The server's CPU (with its PostgreSQL backends', when measured) per delivery, in ms."""
        if self.server_cpu is None or not self.sent:
            return None
        return 1000 * (self.server_cpu + (self.database_cpu or 0.0)) / self.sent

    def cpu_share(self, seconds: float | None) -> str:
        return f"{100 * seconds / self.elapsed:.0f}%" if seconds is not None and self.elapsed > 0 else "?"

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed if self.elapsed > 0 else 0.0

    def percentile_ms(self, q: float) -> float:
        """Nearest-rank percentile of the successful requests, in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000


async def _phase(session: aiohttp.ClientSession, url: str, headers: dict[str, str], bodies: list[bytes],
                 concurrency: int, result: Result | None, max_seconds: float) -> None:
    """Send ``bodies`` with exactly ``concurrency`` workers; record into ``result`` if given."""
    positions = iter(range(len(bodies)))  # shared: each worker takes the next delivery
    started = time.perf_counter()
    deadline = started + max_seconds
    stopped_early = False

    async def worker() -> None:
        nonlocal stopped_early
        for i in positions:
            if time.perf_counter() > deadline:
                stopped_early = True
                return
            body = bodies[i]
            sent_at = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as resp:
                    answer = await resp.read()
                    done_at = time.perf_counter()
                    status = resp.status
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                if result is not None:
                    result.sent += 1
                    result.failures += 1
                    if len(result.failure_samples) < 5:
                        result.failure_samples.append(f"{type(exc).__name__}: {exc}")
                else:
                    raise RuntimeError(f"warm-up request failed: {type(exc).__name__}: {exc}") from exc
                continue
            if result is None:
                if status != 200:
                    raise RuntimeError(f"warm-up request answered {status}: {answer[:300]!r}")
                continue
            result.sent += 1
            if status != 200:
                result.failures += 1
                if len(result.failure_samples) < 5:
                    result.failure_samples.append(f"HTTP {status}: {answer[:300].decode(errors='replace')}")
                continue
            result.latencies.append(done_at - sent_at)
            try:
                result.outcomes[str(json.loads(answer).get("outcome"))] += 1
            except (ValueError, AttributeError):
                result.outcomes["unparseable"] += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    if result is not None:
        result.elapsed = time.perf_counter() - started
        result.truncated = stopped_early


async def drive(target: str, url: str, token: str, warmup: list[bytes], measured: list[bytes],
                concurrency: int, max_seconds: float, server_pid: int | None = None,
                database_pids: Callable[[], Awaitable[list[int]]] | None = None) -> Result:
    """POST ``warmup`` then ``measured`` to ``url`` (the server's webhook) and measure the latter."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    result = Result(target)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        if warmup:
            await _phase(session, url, headers, warmup, concurrency, None, min(WARMUP_MAX_SECONDS, max_seconds))
        backends = await database_pids() if database_pids is not None else []
        database_before = {pid: process_cpu_seconds(pid) for pid in backends}
        cpu_before = process_cpu_seconds(server_pid) if server_pid else None
        client_before = time.process_time()
        await _phase(session, url, headers, measured, concurrency, result, max_seconds)
        cpu_after = process_cpu_seconds(server_pid) if server_pid else None
        result.client_cpu = time.process_time() - client_before
        database_after = {pid: process_cpu_seconds(pid) for pid in backends}
    if cpu_before is not None and cpu_after is not None:
        result.server_cpu = cpu_after - cpu_before
    if backends:  # a backend that ended mid-run takes its CPU along: counted up to its last reading
        result.database_cpu = sum((database_after[pid] or database_before[pid] or 0.0) - (database_before[pid] or 0.0)
                                  for pid in backends)
    return result
