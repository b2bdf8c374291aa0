"""Deterministic fault injection for the Web API, applied before a method runs.

Precedence when several apply to one call: an outage, then ``drop_next``, then
``fail_next``, then random faults. A delay is served first and combines with any of them.
An injected fault never changes workspace state.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

DROP = 0  # pseudo-status: close the connection without answering


@dataclass
class _Pending:
    method: str | None
    status: int
    remaining: int


@dataclass
class _Random:
    rate: float
    statuses: tuple[int, ...]
    methods: frozenset[str] | None
    rng: random.Random


@dataclass
class _Delay:
    method: str | None
    seconds: float
    remaining: int | None


class Faults:
    """The fault plan of one emulator; see the module docstring for precedence."""

    def __init__(self) -> None:
        self.clear()

    def fail_next(self, method: str | None = None, status: int = 500, count: int = 1) -> None:
        """Answer the next ``count`` calls (to ``method``, or to any method) with HTTP ``status``."""
        self._pending.append(_Pending(method, status, count))

    def drop_next(self, method: str | None = None, count: int = 1) -> None:
        """Close the connection of the next ``count`` calls without answering them."""
        self._pending.append(_Pending(method, DROP, count))

    def random_faults(
        self,
        rate: float = 0.3,
        statuses: Iterable[int] = (500, 429),
        seed: int = 1234,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Fail each matching call with probability ``rate``; the same seed and calls give the same faults."""
        self._random = _Random(rate, tuple(statuses), frozenset(methods) if methods else None, random.Random(seed))

    def delay(self, method: str | None = None, seconds: float = 0.2, count: int | None = None) -> None:
        """Hold matching calls for ``seconds`` before handling them (all of them unless ``count``)."""
        self._delays.append(_Delay(method, seconds, count))

    def outage(self, status: int = 503) -> None:
        """Answer every API call with ``status`` until :meth:`end_outage`."""
        self._outage = status

    def end_outage(self) -> None:
        """Stop the outage."""
        self._outage = None

    def clear(self) -> None:
        """Remove every planned fault, delay and outage."""
        self._pending: list[_Pending] = []
        self._delays: list[_Delay] = []
        self._random: _Random | None = None
        self._outage: int | None = None

    def delay_for(self, method: str) -> float:
        """Seconds to hold this call (consumes counted delays)."""
        total = 0.0
        for planned in self._delays:
            if planned.method in (None, method) and planned.remaining != 0:
                total += planned.seconds
                if planned.remaining is not None:
                    planned.remaining -= 1
        return total

    def status_for(self, method: str) -> int | None:
        """The injected status for this call (``DROP`` to drop it), or None to handle it normally."""
        if self._outage is not None:
            return self._outage
        for pending in self._pending:
            if pending.method in (None, method) and pending.remaining > 0:
                pending.remaining -= 1
                return pending.status
        plan = self._random
        if plan is not None and (plan.methods is None or method in plan.methods):
            if plan.rng.random() < plan.rate:
                return plan.rng.choice(plan.statuses)
        return None
