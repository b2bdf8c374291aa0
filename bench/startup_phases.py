"""Where a restart's time goes, exec -> ``/readyz`` 200, step by step: the figure of
bench/startup_time.py explained.

Each of ``--runs`` (5) starts runs bench/startup_probe.py, which does what ``incident-bot
serve`` does in the same order and notes when each step ended (the interpreter, the command
line's imports, serve's imports, settings, logging, playbooks, ``create_app``, the database
engine, the database opened and its schema checked, the other services and the scheduler,
listening); this process polls ``/readyz`` every ``--poll`` (5) ms and notes the first 200.
The clock starts just before ``subprocess.Popen``, as in bench/startup_time.py, and
``incident-bot serve`` itself is started as many times, alternating, so the probe's total can
be compared with the real one. Processes are pinned as there (the bot to the last CPU).

Then one more start of the probe under ``python -X importtime`` splits the import steps by
top-level package (each module's own time, summed): ``-X importtime`` slows imports down,
so the table gives each package's share, and that share of the imports' median in ms.

The libraries' floor: ``python -c`` importing every module the probe had loaded when
listening except the bot's own (bot, storage, bench), in the same order and with collection
off as serve has it, from exec to the line it prints when done, started as many times, alternating with the others
and with ``python -c "import aiohttp"`` (the bench/startup_time.py baseline). What the bot
could reach by deferring its own code alone, with the libraries it starts with.

The bot runs on a SQLite file it has already migrated (``--first-start``: a fresh file each
time, so the migrations run), against the Slack emulator with bench/slack_delivery.py's
playbook (bench/slack_harness.py), as in bench/startup_time.py.

    .venv/bin/python bench/startup_phases.py
    .venv/bin/python bench/startup_phases.py --runs 9 --first-start
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import (  # noqa: E402
    HOST,
    code_version,
    free_port,
    pick_cpus,
    pin_to,
    pinned,
    start_bot,
    start_process,
    stop_all,
    stop_process,
    wait_http_ok,
)
from bench.interrupt import run_in_temporary_directory  # noqa: E402
from bench.slack_harness import bot_env, start_emulator, write_playbook  # noqa: E402

PROBE = [sys.executable, "-m", "bench.startup_probe"]
MARKER = "STARTUP_PHASES "
MODULES_MARKER = "STARTUP_MODULES "
FLOOR = """import gc
gc.disable()
import importlib
failed = 0
for name in {names!r}:
    try:
        importlib.import_module(name)
    except Exception:
        failed += 1
print(failed, flush=True)
"""
READY = "first /readyz 200"
OWN_MODULES = ("bot", "storage")
TOP_PACKAGES = 12


def probe_line(log: Path, marker: str) -> object:
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith(marker):
            return json.loads(line[len(marker):])
    raise RuntimeError(f"bench/startup_probe.py printed no {marker.strip()} line:\n{log.read_text()[-3000:]}")


def probe_marks(log: Path) -> list[tuple[str, float]]:
    marks = probe_line(log, MARKER)
    assert isinstance(marks, list)
    return [(str(step), float(at)) for step, at in marks]


def library_modules(log: Path) -> list[str]:
    """What the probe had loaded when listening, less the bot's own modules."""
    names = probe_line(log, MODULES_MARKER)
    assert isinstance(names, list)
    return [str(n) for n in names if str(n).split(".")[0] not in (*OWN_MODULES, "bench", "__main__")]


async def exit_seconds(argv: list[str], cpu: int | None) -> tuple[float, float | None, str]:
    """(exec to exit, exec to its first line of output or None, that line): the exit heard
    through asyncio's child watcher, as bench/startup_time.py hears it."""
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(*argv, cwd=REPO, preexec_fn=pinned(cpu), stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        said = time.monotonic() if line else None
        await asyncio.wait_for(proc.stdout.read(), 60)
        returncode = await asyncio.wait_for(proc.wait(), 60)
    except TimeoutError:
        proc.kill()
        raise RuntimeError(f"{argv[:3]} did not exit within 60 s") from None
    if returncode != 0:
        raise RuntimeError(f"{argv[:3]} exited with {returncode}")
    return ((time.monotonic() - started) * 1000, None if said is None else (said - started) * 1000,
            line.decode().strip())


async def probe_start(env: dict[str, str], log: Path, cpu: int | None, poll: float,
                      importtime: bool = False) -> list[tuple[str, float]]:
    """(step, ms since exec) of one start of the probe, up to the first /readyz 200."""
    argv = [PROBE[0], "-X", "importtime", *PROBE[1:]] if importtime else PROBE
    started = time.monotonic()
    proc = start_process(argv, env, log, cpu)
    try:
        ready = await wait_http_ok(f"http://{HOST}:{env['PORT']}/readyz", proc, log, interval=poll)
    finally:
        stop_process(proc)
    return [(step, (at - started) * 1000) for step, at in [*probe_marks(log), (READY, ready)]]


async def serve_start(env: dict[str, str], log: Path, cpu: int | None, poll: float) -> float:
    started = time.monotonic()
    proc = start_bot(env, log, cpu)
    try:
        return (await wait_http_ok(f"http://{HOST}:{env['PORT']}/readyz", proc, log, interval=poll) - started) * 1000
    finally:
        stop_process(proc)


def import_shares(log: Path) -> Counter[str]:
    """Microseconds of each top-level package's own import time in a ``-X importtime`` log;
    the bot's own packages together as one."""
    spent: Counter[str] = Counter()
    for line in log.read_text(errors="replace").splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _cumulative, name = line.split(":", 1)[1].split("|")
        top = name.strip().split(".")[0]
        spent["bot, storage (this repository)" if top in OWN_MODULES else top] += int(own)
    return spent


async def run(args: argparse.Namespace, workdir: Path) -> int:
    own_cpu, bot_cpu = pick_cpus(not args.no_pin)
    pin_to(own_cpu)
    playbooks = write_playbook(workdir / "playbooks")
    log = workdir / "bot.log"
    kind = "a fresh SQLite file each start (migrations run)" if args.first_start else "a migrated SQLite file"
    print(f"start-up phases: {args.runs} starts of the probe and of incident-bot serve on {kind}", flush=True)
    slack = await start_emulator(1000.0)
    starts: list[list[tuple[str, float]]] = []
    serves: list[float] = []
    floors: list[float] = []
    imports: list[float] = []
    failed = ""
    try:
        migrated = workdir / "migrated.db"

        def env_for(i: int) -> dict[str, str]:
            db = workdir / f"fresh-{i}.db" if args.first_start else migrated
            return bot_env(workdir, f"sqlite+aiosqlite:///{db}", playbooks, free_port(), slack.api_url, 1000.0)

        if not args.first_start:
            await serve_start(env_for(0), log, bot_cpu, args.poll)  # migrates the file: not counted
        floor: list[str] = []
        for i in range(args.runs):
            starts.append(await probe_start(env_for(2 * i + 1), log, bot_cpu, args.poll))
            floor = floor or library_modules(log)
            serves.append(await serve_start(env_for(2 * i + 2), log, bot_cpu, args.poll))
            _, loaded, failed = await exit_seconds([sys.executable, "-c", FLOOR.format(names=floor)], bot_cpu)
            floors.append(loaded or 0.0)
            imports.append((await exit_seconds([sys.executable, "-c", "import aiohttp"], bot_cpu))[0])
        await probe_start(env_for(2 * args.runs + 1), log, bot_cpu, args.poll, importtime=True)
        shares = import_shares(log)
    finally:
        await slack.stop()

    steps = [step for step, _ in starts[0]]
    ends = {step: [dict(start)[step] for start in starts] for step in steps}
    durations = {step: [dict(start)[step] - (dict(start)[steps[i - 1]] if i else 0.0) for start in starts]
                 for i, step in enumerate(steps)}

    print()
    print(f"machine: nproc {os.cpu_count()}, python {platform.python_version()}, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"code: {code_version()}")
    print(f"setup: median of {args.runs} starts; polled every {args.poll * 1000:g} ms"
          + (f"; started processes on cpu {bot_cpu}, this process on cpu {own_cpu}" if bot_cpu is not None else ""))
    print()
    print(f"{'step (each from the end of the one before)':<50}{'median ms':>10}{'min':>7}{'max':>7}"
          f"{'ends at':>9}")
    for step in steps:
        values = durations[step]
        label = "exec -> interpreter up" if step == "interpreter" else step
        print(f"{label:<50}{statistics.median(values):>10.0f}{min(values):>7.0f}{max(values):>7.0f}"
              f"{statistics.median(ends[step]):>9.0f}")
    print(f"{'probe, exec -> /readyz 200':<50}{statistics.median(ends[READY]):>10.0f}{min(ends[READY]):>7.0f}"
          f"{max(ends[READY]):>7.0f}")
    print(f"{'incident-bot serve, exec -> /readyz 200':<50}{statistics.median(serves):>10.0f}{min(serves):>7.0f}"
          f"{max(serves):>7.0f}")
    for label, values in ((f"the libraries alone ({len(floor)} modules), exec -> loaded", floors),
                          ('python -c "import aiohttp", exec -> exit', imports)):
        print(f"{label:<50}{statistics.median(values):>10.0f}{min(values):>7.0f}{max(values):>7.0f}")
    base = statistics.median(imports)
    print(f"ratios to import aiohttp: serve {statistics.median(serves) / base:.2f}x, "
          f"the libraries alone {statistics.median(floors) / base:.2f}x ({failed} of their modules would not import "
          "by name)")

    import_steps = [step for step in steps if step.startswith("import ")]
    imports_ms = statistics.median([sum(durations[step][i] for step in import_steps) for i in range(args.runs)])
    total = sum(shares.values()) or 1
    print()
    print(f"imports ({' + '.join(import_steps)}: {imports_ms:.0f} ms median) by top-level package, "
          f"from one start under -X importtime:")
    print(f"{'package':<40}{'share':>7}{'~ms':>7}")
    for package, spent in shares.most_common(TOP_PACKAGES):
        print(f"{package:<40}{spent / total:>7.1%}{imports_ms * spent / total:>7.0f}")
    rest = total - sum(spent for _, spent in shares.most_common(TOP_PACKAGES))
    print(f"{'the rest':<40}{rest / total:>7.1%}{imports_ms * rest / total:>7.0f}")
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="starts of each; the median is shown (default 5)")
    parser.add_argument("--poll", type=float, default=0.005, help="seconds between polls (default 0.005)")
    parser.add_argument("--first-start", action="store_true", help="a fresh SQLite file each start (migrations run)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the processes to CPUs")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.poll <= 0:
        parser.error("--runs must be >= 1 and --poll > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_in_temporary_directory(lambda tmp: run(args, tmp), "bench-startup-phases-",
                                      "processes stopped, temporary files removed", stop_all)


if __name__ == "__main__":
    sys.exit(main())
