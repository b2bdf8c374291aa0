"""``incident-bot demo``: the real bot through one incident, against a console Slack.

Real storage (a SQLite file), real decisions, outbox and scheduler, real Bolt and
slack_sdk over HTTP on 127.0.0.1; only Slack itself is stood in for, by a console that
prints what people in the workspace would see. The clock is real time that skips the
quiet minutes, so half an hour of incident takes seconds. No tokens, no network.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import tempfile
import time
from pathlib import Path
from typing import TextIO

from bot.clock import SkippingClock, utcnow
from bot.demo.story import STAKEHOLDERS, USERS, tell
from bot.demo.transcript import Transcript
from bot.demo.world import BOT_TOKEN, SIGNING_SECRET, WEBHOOK_TOKEN, DemoFailed, World, running_world
from bot.observability.logs import configure_logging
from bot.playbook import PlaybookError

DEMO_PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks" / "demo"
TIME_LIMIT = 60.0


def run_demo(out: TextIO, *, directory: Path | None = None, playbooks_dir: Path = DEMO_PLAYBOOKS,
             rich: bool | None = None, web_port: int | None = None) -> int:
    """The story, then with ``web_port`` the web workspace on http://127.0.0.1:<web_port> for the
    demo's incident until Ctrl-C (or SIGTERM)."""
    configure_logging("WARNING", "console", [BOT_TOKEN, SIGNING_SECRET, WEBHOOK_TOKEN])
    # Ticking ten times a second, the scheduler may skip a tick while one runs; that is
    # the point of its max_instances=1, not news for the demo's reader.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    directory = directory or Path(tempfile.mkdtemp(prefix="incident-bot-demo-"))
    directory.mkdir(parents=True, exist_ok=True)
    clock = SkippingClock(utcnow(), time.monotonic)
    transcript = Transcript(out, clock, rich=rich)
    transcript.heading("incident-bot demo")
    transcript.note(f"The real bot on SQLite ({directory / 'incident-bot-demo.db'}), playbook {playbooks_dir},\n"
                    "and a console Slack that prints what the workspace would show. The clock skips quiet minutes.")
    try:
        asyncio.run(_play(directory, playbooks_dir, transcript, clock, web_port))
    except PlaybookError as exc:
        for problem in exc.problems:
            transcript.problem(str(problem))
        return 1
    except DemoFailed as exc:
        transcript.problem(f"demo failed: {exc}")
        return 1
    except TimeoutError:
        transcript.problem(f"demo failed: not finished within {TIME_LIMIT:g} s")
        return 1
    except OSError as exc:
        if web_port is None or exc.errno not in (errno.EADDRINUSE, errno.EACCES):
            raise
        transcript.problem(f"cannot serve the web workspace on 127.0.0.1:{web_port}: {exc.strerror or exc}; "
                           "choose another port with --port")
        return 1
    return 1 if transcript.problems else 0


async def _play(directory: Path, playbooks_dir: Path, transcript: Transcript, clock: SkippingClock,
                web_port: int | None) -> None:
    began = time.monotonic()
    async with asyncio.timeout(TIME_LIMIT) as limit, \
            running_world(directory, playbooks_dir, transcript, clock, USERS, web_port=web_port) as world:
        world.slack.add_channel(STAKEHOLDERS, set(USERS))
        postmortem = await tell(world, directory)
        failed = await world.failed_actions()
        if failed:
            raise DemoFailed(f"{failed} Slack action(s) failed for good; see the log above")
        if transcript.problems:
            return
        transcript.heading("Done")
        transcript.note(f"Postmortem draft: {postmortem}\n"
                        f"Database:         {directory / 'incident-bot-demo.db'}\n"
                        f"Took {time.monotonic() - began:.1f} s. Look around with, e.g.:\n"
                        f"  DATABASE_URL=sqlite+aiosqlite:///{directory / 'incident-bot-demo.db'} "
                        f"PLAYBOOKS_DIR={playbooks_dir} incident-bot report --since 1d")
        if web_port is not None:
            limit.reschedule(None)  # the workspace stays up until stopped
            await _serve_workspace(world, transcript)


async def _serve_workspace(world: World, transcript: Transcript) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    page = f"{world.settings.public_url}/ui/incidents/{world.incident_id}" if world.incident_id \
        else f"{world.settings.public_url}/ui/"
    transcript.heading("The web workspace")
    transcript.note(f"Open {page}\n"
                    f"and sign in as {', '.join(sorted(USERS.values()))} on the console Slack's stand-in for "
                    "Sign in with Slack.\nWhat you do there shows up here. Ctrl-C to stop.")
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    transcript.note("Stopping the demo.")
