"""``--profile DIR`` of bench/webhook_ingest.py: py-spy attached to a bot for its whole load,
and a summary of where the samples fell."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench.common import REPO


class Profiler:
    """``py-spy record`` attached to a server for the whole load (``--profile DIR``).

    Writes py-spy's raw (collapsed-stack) format; :func:`print_hotspots` summarises it.
    Sampling pauses the server briefly per sample, so a profiled run is a little slower.
    """

    def __init__(self, pid: int, output: Path) -> None:
        self.pid = pid
        self.output = output
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        py_spy = Path(sys.executable).parent / "py-spy"
        if not py_spy.exists():
            raise RuntimeError(f"--profile needs py-spy: {sys.executable} -m pip install py-spy")
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([str(py_spy), "record", "--pid", str(self.pid), "--rate", "200", "--gil",
                                      "--format", "raw", "--output", str(self.output)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        time.sleep(1.0)  # let it attach before the load starts
        if self.proc.poll() is not None:
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
            raise RuntimeError(f"py-spy could not attach to {self.pid}: {err.strip()}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def print_hotspots(path: Path, top: int = 15) -> None:
    """Self and inclusive sample shares from a py-spy raw profile, application frames first."""
    self_samples: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short_frame(f) for f in stack.split(";")]
        frames = [f for f in frames if f]
        if not frames:
            continue
        total += count
        self_samples[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if total == 0:
        print(f"  (no samples in {path})")
        return
    by_package: Counter[str] = Counter()
    for frame, count in self_samples.items():
        by_package[_package(frame)] += count
    print(f"  {total} samples (200/s, GIL-holding thread only) in {path}")
    print("  self time by package: " + ", ".join(f"{name} {100 * count / total:.0f}%"
                                              for name, count in by_package.most_common(8)))
    print("  top self time (where the CPU was):")
    for frame, count in self_samples.most_common(top):
        print(f"    {100 * count / total:5.1f}%  {frame}")
    print("  top inclusive time in bot/ and storage/ (frame and everything it called):")
    own = [(f, c) for f, c in inclusive.most_common() if f.split(" (")[-1].startswith(("bot/", "storage/"))]
    for frame, count in own[:top]:
        print(f"    {100 * count / total:5.1f}%  {frame}")


def _package(short_frame: str) -> str:
    where = short_frame.rpartition(" (")[2]
    top = where.split("/", 1)[0] if "/" in where else where.split(":", 1)[0]
    return {"stdlib": "stdlib (asyncio etc.)"}.get(top, top)


def _short_frame(frame: str) -> str:
    """``func (/abs/.../site-packages/pkg/mod.py:12)`` -> ``func (pkg/mod.py:12)``."""
    name, sep, where = frame.strip().rpartition(" (")
    if not sep:
        return ""  # py-spy's "process ..." / "thread ..." roots
    where = where.rstrip(")")
    if "site-packages/" in where:
        where = where.split("site-packages/", 1)[1]
    elif where.startswith(str(REPO) + "/"):
        where = where[len(str(REPO)) + 1:]
    elif "/lib/python3" in where:
        where = "stdlib/" + where.split("/lib/python3", 1)[1].split("/", 1)[-1]
    return f"{name} ({where})"
