"""The real Alertmanager (Debian's prometheus-alertmanager) as a test peer."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.support.bot import free_port
from tests.support.integration import unavailable
from tests.support.peers import stop, wait_ready

BINARIES = ("prometheus-alertmanager", "alertmanager")


def alertmanager_binary() -> str:
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found
    unavailable("Alertmanager is not installed (Debian package prometheus-alertmanager)")
    raise AssertionError("unreachable")


def webhook_config(url: str, *, token_file: Path | None = None, group_wait: str = "1s",
                   group_interval: str = "2s", repeat_interval: str = "1h") -> str:
    auth = f"""
        http_config:
          authorization:
            credentials_file: {token_file}""" if token_file else ""
    return f"""
route:
  receiver: bot
  group_by: [alertname, service]
  group_wait: {group_wait}
  group_interval: {group_interval}
  repeat_interval: {repeat_interval}
receivers:
  - name: bot
    webhook_configs:
      - url: {url}
        send_resolved: true{auth}
"""


class Alertmanager:
    def __init__(self, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.process = process
        self.log = log

    async def post_alerts(self, alerts: Sequence[dict[str, Any]]) -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.post(f"{self.url}/api/v2/alerts", json=list(alerts))
            response.raise_for_status()


@asynccontextmanager
async def running_alertmanager(workdir: Path, config: str) -> AsyncIterator[Alertmanager]:
    binary = alertmanager_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "alertmanager.yml").write_text(config)
    port = free_port()
    log = workdir / "alertmanager.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [binary, f"--config.file={workdir / 'alertmanager.yml'}", f"--storage.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=debug"],
            stdout=sink, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_ready("Alertmanager", url, process, log, seconds=10)
        yield Alertmanager(url, process, log)
    finally:
        stop(process)
