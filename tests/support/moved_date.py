"""The suite also runs with the date moved (``faketime -f +137d`` in ``.ci/run``). Processes
the tests start with a controlled environment must see the same moved date as the test
itself, or a test would compare a moved "now" with a real one."""

from __future__ import annotations

import os

_FAKETIME = ("LD_PRELOAD", "FAKETIME", "FAKETIME_SHARED", "FAKETIME_NO_CACHE", "FAKETIME_FMT")


def moved_date_env() -> dict[str, str]:
    """libfaketime's variables, when this process runs under it; else nothing."""
    if "FAKETIME" not in os.environ:
        return {}
    return {name: os.environ[name] for name in _FAKETIME if name in os.environ}
