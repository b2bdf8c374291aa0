"""The harness of the benchmarks that run the bot against Slack: ``incident-bot serve`` as a
process on a fresh SQLite file, talking to the project's strict Slack emulator
(``tests/slack_emulator``) served from the benchmark's own event loop on 127.0.0.1.

:func:`slack_bot` does the set-up those benchmarks share (the playbook, the emulator with the
playbook's channels, the bot's environment, starting it and waiting for ``/healthz``) and stops
everything again however the benchmark ends. :class:`IncidentOpener` opens incidents by webhook
and follows each to its header pinned in Slack. For slack_delivery.py, slash_ack.py,
resident_memory.py and startup_time.py this module is the one place that names the emulator and
the bot's Slack settings, so a rename there touches only this file (scheduler_lag.py still sets
up its own).
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import aiohttp
import yaml

from bench.common import HOST, REPO, free_port, log_tail, start_bot, stop_process, wait_healthy
from bench.ingest_workload import GroupSpec, group_body
from tests.slack_emulator import Call, SlackEmulator

__all__ = [  # with the emulator's types the benchmarks name, so that they import it from here only
    "PIN_TIMEOUT", "PLAYBOOK_SOURCE", "SETTLE_TIMEOUT", "SIGNING_SECRET", "TOKEN", "USERS", "WEBHOOK_TOKEN", "Call",
    "CallLog", "IncidentOpener", "OpenedIncident", "SlackBot", "SlackEmulator", "WebhookAnswer", "bot_env",
    "channel_of", "slack_bot", "start_emulator", "write_playbook",
]

TOKEN = "xoxb-bench-delivery"
SIGNING_SECRET = "bench-delivery-signing-secret"
WEBHOOK_TOKEN = "bench-delivery-webhook-token"
USERS = {"UALICE": "alice", "UBOB": "bob", "UCAROL": "carol", "UDAVE": "dave"}
PLAYBOOK_SOURCE = REPO / "tests" / "fixtures" / "playbooks" / "slack" / "incidents.yml"

PIN_TIMEOUT = 15.0  # seconds to wait for one incident's pin before counting it missing
SETTLE_TIMEOUT = 5.0  # seconds to wait for an incident's pending outbox rows to be done


# ---------------------------------------------------------------------------------------
# The pieces: playbook, environment, emulator
# ---------------------------------------------------------------------------------------

def write_playbook(directory: Path) -> Path:
    """The Slack fixture playbook, storm guard removed, responders that exist; returns ``directory``."""
    document = yaml.safe_load(PLAYBOOK_SOURCE.read_text())
    critical = next(r for r in document["routes"] if r["name"] == "critical")
    critical.pop("storm_guard", None)
    critical["responders"] = ["UDAVE"]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "incidents.yml").write_text(yaml.safe_dump(document, sort_keys=False))
    return directory


def bot_env(workdir: Path, database_url: str, playbooks: Path, port: int, slack_api_url: str,
            rate_scale: float) -> dict[str, str]:
    """The bot's whole environment: nothing is inherited but ``PATH``."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir), "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": database_url, "PLAYBOOKS_DIR": str(playbooks), "HOST": HOST, "PORT": str(port),
            "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack_api_url,
            "SLACK_RATE_LIMIT_SCALE": str(rate_scale), "ALERTMANAGER_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
            "LOG_LEVEL": "WARNING", "LOG_FORMAT": "console"}


async def start_emulator(rate_scale: float, calls: list[Call] | None = None) -> SlackEmulator:
    """The Slack emulator, served from this event loop, with the channels the playbook names.
    ``calls``: a list to record into instead of ``emu.calls`` (set before the server starts)."""
    slack = SlackEmulator(token=TOKEN, signing_secret=SIGNING_SECRET, users=USERS, rate_limit_scale=rate_scale,
                          host=HOST)
    if calls is not None:
        slack.calls = calls
    await slack.start()
    slack.seed_channel("alerts-triage", members=["UALICE"])
    slack.seed_channel("incidents", members=["UALICE"])
    return slack


class CallLog(list[Call]):
    """Stands in for ``emu.calls`` (set before ``start()``): records like a list, and also
    indexes each channel's first successful ``pins.add`` and wakes whoever waits for a call."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = asyncio.Event()
        self.pinned_at: dict[str, float] = {}

    def append(self, call: Call) -> None:
        super().append(call)
        if call.method == "pins.add" and call.ok:
            self.pinned_at.setdefault(str(call.args.get("channel")), call.at)
        self.changed.set()

    async def wait(self, predicate: Callable[[], bool], deadline: float) -> bool:
        """Until ``predicate()`` holds (True) or ``deadline`` (monotonic) passes (False)."""
        while True:
            self.changed.clear()
            if predicate():
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)


def channel_of(call: Call) -> str | None:
    """The channel id a Slack call names, if any."""
    channel = call.args.get("channel") or call.args.get("channel_id")
    return None if channel is None else str(channel)


# ---------------------------------------------------------------------------------------
# Opening incidents by webhook
# ---------------------------------------------------------------------------------------

class WebhookAnswer(TypedDict, total=False):
    """The parts of ``POST /alertmanager``'s JSON answer the benchmarks read."""

    outcome: str
    incident: int


@dataclass
class OpenedIncident:
    """One incident a webhook opened: when, its channel, and when its header was pinned."""

    incident_id: int
    channel_name: str
    sent: float  # monotonic: POST sent
    acked: float  # monotonic: 200 read (t0)
    channel_id: str | None = None
    pinned: float | None = None  # monotonic: Call.at of pins.add (t1)


class IncidentOpener:
    """Opens incidents by webhook, each a new Alertmanager group (2 firing alerts,
    ``severity=critical``, its own alertname/service/cluster), and follows each to its pin."""

    def __init__(self, bot_url: str, db_path: Path, slack: SlackEmulator, log: CallLog) -> None:
        self.bot_url = bot_url
        self.slack = slack
        self.log = log
        self.serial = 0
        self.opened: list[OpenedIncident] = []  # every incident opened, warm-up included
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

    async def open(self, session: aiohttp.ClientSession, prefix: str, failures: list[str] | None,
                   settle: bool) -> OpenedIncident | None:
        """Open one incident and wait for its header to be pinned (and with ``settle`` for its
        opening work to be over). What went wrong is added to ``failures``; without a list, a
        webhook that did not open an incident raises RuntimeError and the rest goes unsaid.
        None if no incident was opened, else the incident, pinned or not."""
        body = self.next_body(prefix)
        sent = time.monotonic()
        try:
            async with session.post(f"{self.bot_url}/alertmanager", data=body, headers=self.headers) as resp:
                text = await resp.text()
                acked = time.monotonic()
                status = resp.status
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            text, status, acked = f"{type(exc).__name__}: {exc}", 0, time.monotonic()
        answer: WebhookAnswer = {}
        if status == 200:
            with suppress(ValueError):
                answer = json.loads(text)
        if status != 200 or answer.get("outcome") != "open":
            problem = f"webhook answered {status} {text[:300]!r}, expected 200 with outcome 'open'"
            if failures is None:
                raise RuntimeError(problem)
            failures.append(problem)
            return None
        incident_id = int(answer["incident"])
        opened = OpenedIncident(incident_id, self.channel_name(incident_id), sent, acked)
        self.opened.append(opened)

        def pinned() -> bool:
            if opened.channel_id is None:
                channel = self.slack.channel_by_name(opened.channel_name)
                opened.channel_id = channel.id if channel is not None else None
            return opened.channel_id is not None and opened.channel_id in self.log.pinned_at

        if await self.log.wait(pinned, acked + PIN_TIMEOUT):
            assert opened.channel_id is not None
            opened.pinned = self.log.pinned_at[opened.channel_id]
        elif failures is not None:
            failures.append(f"incident {incident_id} ({opened.channel_name}): no pins.add within "
                            f"{PIN_TIMEOUT:.0f}s")
        if settle and not await self.drained(incident_id) and failures is not None:
            failures.append(f"incident {incident_id}: opening work still pending after {SETTLE_TIMEOUT:.0f}s")
        return opened


# ---------------------------------------------------------------------------------------
# The whole set-up
# ---------------------------------------------------------------------------------------

@dataclass
class SlackBot:
    """The running bot, the emulator it talks to, and what records and drives them."""

    slack: SlackEmulator
    calls: CallLog  # every emulator call, in order
    proc: subprocess.Popen[bytes]
    url: str  # the bot's base URL
    log_path: Path  # the bot's output
    incidents: IncidentOpener

    def check_alive(self) -> None:
        """RuntimeError, with its log's tail, if the bot has exited."""
        if self.proc.poll() is not None:
            raise RuntimeError(f"bot exited with {self.proc.returncode}:\n{log_tail(self.log_path)}")

    def log_tail(self) -> str:
        return log_tail(self.log_path)


@asynccontextmanager
async def slack_bot(name: str, workdir: Path, rate_scale: float, cpu: int | None) -> AsyncIterator[SlackBot]:
    """The bot on a fresh SQLite file in ``workdir``, pinned to ``cpu``, against the emulator, both
    with Slack's rate-limit windows divided by ``rate_scale``; yielded once ``/healthz`` answers,
    after a line naming the benchmark (``name``) and where everything is. On the way out the
    opener's database connection is closed, the bot stopped and then the emulator."""
    playbooks = write_playbook(workdir / "playbooks")
    db_path = workdir / "bench.db"
    log_path = workdir / "bot.log"
    calls = CallLog()
    slack = await start_emulator(rate_scale, calls)
    proc: subprocess.Popen[bytes] | None = None
    opener: IncidentOpener | None = None
    try:
        port = free_port()
        proc = start_bot(bot_env(workdir, f"sqlite+aiosqlite:///{db_path}", playbooks, port, slack.api_url,
                                 rate_scale), log_path, cpu)
        url = f"http://{HOST}:{port}"
        await wait_healthy(url, proc, log_path)
        print(f"{name} benchmark: bot pid {proc.pid} on {url}, emulator at {slack.api_url}, "
              f"work files in {workdir} (removed at the end)", flush=True)
        opener = IncidentOpener(url, db_path, slack, calls)
        yield SlackBot(slack, calls, proc, url, log_path, opener)
    finally:
        if opener is not None:
            opener.close()
        if proc is not None:
            stop_process(proc)
        await slack.stop()
