"""Ctrl-C and SIGTERM for the benchmarks: cancel the run so every ``finally`` still stops
the servers it started and removes what it wrote."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable


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
