"""Ctrl-C and SIGTERM for the benchmarks: cancel the run so every ``finally`` still stops
the servers it started and removes what it wrote."""

from __future__ import annotations

import asyncio
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path


async def interruptible(run: Callable[[], Awaitable[int]], cleaned: str) -> int:
    """Run ``run()``; on SIGINT/SIGTERM cancel it and return 128 + the signal number."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    received: list[int] = []

    def interrupt(signum: int) -> None:
        received.append(signum)
        if len(received) == 1:
            task.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, interrupt, signum)
    try:
        return await run()
    except asyncio.CancelledError:
        if not received:
            raise
        print(f"\ninterrupted by signal {received[0]}; {cleaned}", file=sys.stderr)
        return 128 + received[0]
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def run_in_temporary_directory(run: Callable[[Path], Awaitable[int]], prefix: str, cleaned: str,
                               cleanup: Callable[[], None]) -> int:
    """A benchmark's ``main``: run it in a fresh temporary directory, interruptibly; a
    RuntimeError is reported as FAILED (exit 1); ``cleanup`` runs however it ends."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        try:
            return asyncio.run(interruptible(lambda: run(Path(tmp)), cleaned))
        except RuntimeError as exc:
            print(f"FAILED: {exc}", file=sys.stderr)
            return 1
        finally:  # normally nothing is left; this covers a crash that skipped the async clean-up
            cleanup()
