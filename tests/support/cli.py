"""The ``incident-bot`` command line as a user runs it: a separate process, a controlled environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import REPO
from tests.support.bot import free_port
from tests.support.moved_date import moved_date_env

COMMAND = [sys.executable, "-m", "bot.cli"]
PLAYBOOKS = REPO / "playbooks"


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Only what the bot needs: nothing leaks in from the developer's or CI's environment. The
    code is this checkout's (PYTHONPATH), also where the virtualenv's editable install points at
    another worktree."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO),
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'incident-bot.db'}",
        "PLAYBOOKS_DIR": str(PLAYBOOKS),
        **moved_date_env(),
    }
    env.update(extra)
    return env


def run_cli(args: Sequence[str], env: dict[str, str], cwd: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run ``incident-bot ARGS`` to completion; raises TimeoutExpired if it does not exit by itself."""
    return subprocess.run([*COMMAND, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          check=False)


class Served:
    """A running ``incident-bot serve``; ``stdout``/``stderr`` are complete once it has stopped."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, out: Path, err: Path) -> None:
        self.process = process
        self.url = url
        self._out = out
        self._err = err

    @property
    def stdout(self) -> str:
        return self._out.read_text()

    @property
    def stderr(self) -> str:
        return self._err.read_text()

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM, as a process manager sends it; the exit code (TimeoutExpired if it hangs)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


@contextmanager
def serving(env: dict[str, str], cwd: Path, *, ready_within: float = 20) -> Iterator[Served]:
    """Start ``incident-bot serve`` on a free loopback port and wait until /healthz answers 200."""
    port = free_port()
    env = {**env, "HOST": "127.0.0.1", "PORT": str(port)}
    out, err = cwd / "serve.stdout", cwd / "serve.stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen([*COMMAND, "serve"], env=env, cwd=cwd, stdout=stdout, stderr=stderr)
    served = Served(process, f"http://127.0.0.1:{port}", out, err)
    try:
        _wait_healthy(served, ready_within)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_healthy(served: Served, within: float) -> None:
    deadline = time.monotonic() + within
    with httpx.Client(timeout=1) as client:
        while time.monotonic() < deadline:
            if served.process.poll() is not None:
                raise AssertionError(f"serve exited with {served.process.returncode}:\n{served.stderr[-3000:]}")
            try:
                if client.get(f"{served.url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)  # polling for start-up, not a timing assertion
    raise AssertionError(f"serve did not answer /healthz within {within}s:\n{served.stderr[-3000:]}")
