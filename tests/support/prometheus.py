"""The real Prometheus (Debian's package) as a test peer, with exemplar storage on."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.support.bot import free_port
from tests.support.integration import unavailable
from tests.support.peers import stop, wait_ready


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
        await wait_ready("Prometheus", url, process, log, seconds=15)
        yield url
    finally:
        stop(process)
