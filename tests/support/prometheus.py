"""The real Prometheus (Debian's package) as a test peer, with exemplar storage on."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from tests.support.bot import free_port
from tests.support.integration import unavailable


@asynccontextmanager
async def running_prometheus(workdir: Path, config: str, rules: str) -> AsyncIterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        unavailable("Prometheus is not installed (Debian package prometheus)")
        raise AssertionError("unreachable")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "rules.yml").write_text(rules)
    (workdir / "prometheus.yml").write_text(config.replace("RULES_FILE", str(workdir / "rules.yml")))
    port = free_port()
    log = workdir / "prometheus.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [binary, f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--enable-feature=exemplar-storage"],
            stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=1) as client:
            for _ in range(150):
                if process.poll() is not None:
                    raise RuntimeError(f"Prometheus exited: {log.read_text()[-2000:]}")
                try:
                    if (await client.get(f"{url}/-/ready")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"Prometheus not ready: {log.read_text()[-2000:]}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
