"""``incident-bot serve`` as a real process that a test can SIGKILL and start again,
driven from async tests (the Slack emulator keeps serving in the test's event loop)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import REPO
from tests.support.bot import free_port
from tests.support.moved_date import moved_date_env


class BotProcess:
    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.port = free_port()
        # PYTHONPATH: this checkout's code, also where the virtualenv's editable install points at another worktree.
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO), "HOME": str(workdir),
                    **moved_date_env(), **env,
                    "HOST": "127.0.0.1", "PORT": str(self.port)}
        self.workdir = workdir
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    async def start(self, ready_within: float = 30) -> None:
        self.starts += 1
        log = (self.workdir / f"bot-{self.starts}.log").open("wb")
        self.process = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=self.env, cwd=self.workdir,
                                        stdout=log, stderr=subprocess.STDOUT)
        log.close()
        async with httpx.AsyncClient(timeout=1) as client:
            for _ in range(int(ready_within / 0.05)):
                if self.process.poll() is not None:
                    raise RuntimeError(f"bot exited early: {self.logs()[-3000:]}")
                try:
                    if (await client.get(f"{self.url}/healthz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError(f"bot not healthy within {ready_within}s: {self.logs()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no graceful shutdown, like a crash or an OOM kill."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.workdir.glob("bot-*.log")))
