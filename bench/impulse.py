"""IMPulse, the public Python Alertmanager incident bot (https://github.com/eslupmi/impulse:
FastAPI on uvicorn, with uvloop and httptools from ``uvicorn[standard]``), as a server under
test for ``bench/webhook_ingest.py --impulse``.

Everything of it lives in the run's temporary directory and goes with it, never in this
repository: its source, cloned from a git URL or a local checkout or bare mirror (or copied
from a plain directory); a virtualenv made from its own ``requirements.txt`` (unless
``--impulse-venv`` names one to keep between runs); the config this module writes (no
messenger, so no chat service is needed); and its data directory, fresh for every start.

It runs as its Dockerfile runs it, ``python -m main`` (which calls ``uvicorn.run``), on a free
port of 127.0.0.1. Alertmanager posts to ``/``; ``/readyz`` answers 200 once it is up.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.common import HOST
from bench.ingest_servers import Server

DEFAULT_SOURCE = "https://github.com/eslupmi/impulse.git"

# The shortest config its validation accepts with no messenger; the incident timeouts are the
# values of its examples/impulse.none.yml (without them it fails on every alert).
CONFIG = """\
# Written by bench/webhook_ingest.py --impulse: no messenger, so no chat service is needed.
messenger:
  type: none
incident:
  timeouts:
    firing: 6h
    unknown: 6h
    resolved: 12h
    closed: 90d
"""

ANSWERS_BEFORE_STORING = (
    "IMPulse answers 200 (echoing the payload) as soon as it has put the body on an in-memory list; "
    "a background loop takes one item off that list every 0.1 s (about 10 deliveries/s), and only "
    "then makes or updates the incident and writes it to a YAML file (no fsync). It checks no "
    "credentials. The bot answers 200 only once the delivery is committed to its database.")

# What IMPulse reads from the environment, so none of this shell's settings reach it.
_ITS_SETTINGS = ("SLACK_", "MATTERMOST_", "TELEGRAM_", "JIRA_", "AUTH_", "GOOGLE_", "CHAIN_PROVIDER_", "CORS_",
                 "LOG_", "LISTEN_", "HTTP_PREFIX", "CONFIG_PATH", "DATA_PATH", "PYTHON", "VIRTUAL_ENV")


@dataclass(frozen=True)
class Impulse:
    """A checkout of IMPulse ready to start."""

    source: str
    checkout: Path
    python: Path  # its virtualenv's interpreter
    config_dir: Path
    commit: str  # "<short hash> <commit date>", or why there is none
    versions: str  # its interpreter and the packages that serve HTTP, as installed


async def prepare(source: str, ref: str | None, workdir: Path, python: str, venv: Path | None) -> Impulse:
    """Fetch IMPulse from ``source`` into ``workdir``, install it, write its config."""
    checkout = workdir / "impulse"
    print(f"  impulse: fetching {source} ...", flush=True)
    commit = await fetch(source, ref, checkout)
    venv = venv or workdir / "impulse-venv"
    interpreter = venv / "bin" / "python"
    if not interpreter.exists():
        print(f"  impulse: making a virtualenv in {venv} with {python} ...", flush=True)
        await run([python, "-m", "venv", str(venv)], "python -m venv", 120)
    print("  impulse: pip install -r requirements.txt (PyPI, or the index pip is configured with) ...", flush=True)
    await run([str(interpreter), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r",
               str(checkout / "requirements.txt")], "pip install", 900)
    versions = await run([str(interpreter), "-c", "import importlib.metadata as m, platform; print(', '.join("
                          "['python ' + platform.python_version()] + [p + ' ' + m.version(p) for p in "
                          "('fastapi', 'uvicorn', 'uvloop', 'httptools', 'pydantic')]))"], "version check", 60)
    config_dir = workdir / "impulse-config"
    config_dir.mkdir()
    (config_dir / "impulse.yml").write_text(CONFIG)
    return Impulse(source, checkout, interpreter, config_dir, commit, versions.strip())


async def fetch(source: str, ref: str | None, dest: Path) -> str:
    """Clone ``source`` (a URL, a checkout, a bare repository) or copy it (a plain directory)
    to ``dest``, at ``ref`` if given; return its commit."""
    local = Path(source).expanduser()
    if local.is_dir() and not _is_git(local):
        shutil.copytree(local, dest, ignore=shutil.ignore_patterns(".git", "venv", ".venv", "data", "__pycache__"))
    else:
        shallow = [] if ref or local.is_dir() else ["--depth", "1"]
        await run(["git", "clone", "--quiet", *shallow, str(local if local.is_dir() else source), str(dest)],
                  "git clone", 300)
        if ref:
            await run(["git", "-C", str(dest), "checkout", "--quiet", ref], f"git checkout {ref}", 60)
    if not (dest / "main.py").exists() or not (dest / "requirements.txt").exists():
        raise RuntimeError(f"{source} does not look like IMPulse: no main.py or requirements.txt")
    if not _is_git(dest):
        return "(not a git checkout)"
    return (await run(["git", "-C", str(dest), "log", "-1", "--format=%h %cs"], "git log", 30)).strip()


def _is_git(path: Path) -> bool:
    return (path / ".git").exists() or ((path / "HEAD").is_file() and (path / "objects").is_dir())


async def run(argv: list[str], what: str, timeout: float) -> str:
    """Run ``argv`` and return its output; RuntimeError with its output if it fails. A
    cancellation (Ctrl-C) or a timeout kills it first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
                                                start_new_session=True)
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        await _kill(proc)
        raise RuntimeError(f"{what} did not finish in {timeout:.0f}s") from None
    except BaseException:
        await _kill(proc)
        raise
    text = output.decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed with exit status {proc.returncode}:\n{text[-3000:]}")
    return text


async def _kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.kill()
        await proc.wait()


def server(impulse: Impulse, data_dir: Path, port: int, log: Path, cpu: int | None) -> Server:
    """IMPulse as a server under test, with a fresh data directory."""
    data_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(_ITS_SETTINGS)}
    env.update(CONFIG_PATH=str(impulse.config_dir), DATA_PATH=str(data_dir), LISTEN_HOST=HOST,
               LISTEN_PORT=str(port), LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1", PORT=str(port))
    return Server("impulse", [str(impulse.python), "-m", "main"], env, log, cpu, webhook_path="/",
                  health_path="/readyz", cwd=impulse.checkout, start_timeout=120)


async def backlog(server: Server) -> str:
    """How far IMPulse had got with what it answered 200 to, asked before it is stopped."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            async with session.get(f"{server.base_url}/queue") as resp:
                queue = await resp.json()
            async with session.get(f"{server.base_url}/incidents") as resp:
                incidents = await resp.json()
    except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
        return f"its queue could not be read ({type(exc).__name__}: {exc})"
    waiting = sum(1 for item in queue if isinstance(item, dict) and item.get("type") == "alert")
    return (f"when its phase ended, {waiting} deliveries (warm-up included) were still waiting in its in-memory "
            f"queue and {len(incidents)} incidents existed")
