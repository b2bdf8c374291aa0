"""The webhook load of bench/slash_ack.py, from its own process so that it does not share the
measuring event loop: Alertmanager payloads posted open loop at a fixed rate, the workload of
bench/webhook_ingest.py (10-alert groups, one new group per 10 deliveries, half critical, half
warning; the rest re-sends and updates).

:class:`LoadGenerator` starts this file as a child, which builds its workload, prints ``ready``,
waits for a line on its stdin, posts, and prints what it measured as one JSON line
(:class:`LoadResult`). The parent stops it with SIGTERM if need be.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import NotRequired, TypedDict, cast

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import percentile, start_piped_process, stop_process  # noqa: E402
from bench.ingest_workload import build_workload  # noqa: E402

LOADGEN_MAX_IN_FLIGHT = 1000


class LoadResult(TypedDict):
    """What the load generator measured (sent back as one JSON line on its stdout)."""

    planned: int
    sent: int
    skipped: int  # not sent: LOADGEN_MAX_IN_FLIGHT deliveries were in flight
    unanswered: int
    seconds: float  # how long sending took
    statuses: dict[str, int]  # HTTP status, or the exception's name
    outcomes: dict[str, int]  # the answers' "outcome"
    samples: list[str]  # the first failures
    p50: float  # seconds, of the 200s
    p99: float
    max: float
    peak_in_flight: int
    lag_p99: float  # seconds a delivery was sent after its slot
    lag_max: float
    planned_mix: dict[str, int]
    slack_calls: NotRequired[int]  # added by the parent: the bot's Slack calls meanwhile


async def loadgen(url: str, token: str, rate: float, seconds: float, seed: int) -> LoadResult:
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
    """This file as a child process: started early (it builds its workload), released on ``go()``."""

    def __init__(self, url: str, token: str, rate: float, seconds: float, seed: int, cpu: int | None,
                 log: Path) -> None:
        self.argv = [sys.executable, str(Path(__file__).resolve()), "--url", url, "--token", token,
                     "--rate", str(rate), "--seconds", str(seconds), "--seed", str(seed)]
        self.cpu = cpu
        self.log = log  # its stderr
        self.seconds = seconds
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self.proc = start_piped_process(self.argv, self.log, self.cpu)
        line = await self._readline(60)
        if line.strip() != b"ready":
            raise RuntimeError(f"load generator did not start: {line!r} {self._stderr()}")

    def go(self) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()

    async def result(self) -> LoadResult:
        line = await self._readline(self.seconds + 60)
        try:
            result = json.loads(line)
        except ValueError:
            result = None
        if isinstance(result, dict):
            return cast("LoadResult", result)
        raise RuntimeError(f"load generator gave no result: {line[:300]!r} {self._stderr()}")

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
            self.proc = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Post Alertmanager webhooks open loop (bench/slash_ack.py's load).")
    parser.add_argument("--url", required=True, help="the bot's POST /alertmanager")
    parser.add_argument("--token", required=True, help="its bearer token")
    parser.add_argument("--rate", type=float, required=True, help="deliveries/s")
    parser.add_argument("--seconds", type=float, required=True, help="for this long")
    parser.add_argument("--seed", type=int, default=1, help="workload seed (default 1)")
    args = parser.parse_args(argv)
    result = asyncio.run(loadgen(args.url, args.token, args.rate, args.seconds, args.seed))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
