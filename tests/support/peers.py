"""Starting and stopping the real programs tests run beside the bot (Alertmanager, Prometheus)."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import httpx


async def wait_ready(name: str, url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 15) -> None:
    """Poll ``url/-/ready`` until it answers 200; fail with the log's tail if the program exits or never does."""
    async with httpx.AsyncClient(timeout=1) as client:
        for _ in range(int(seconds / 0.1)):
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited: {log.read_text()[-2000:]}")
            try:
                if (await client.get(f"{url}/-/ready")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{name} did not become ready: {log.read_text()[-2000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
