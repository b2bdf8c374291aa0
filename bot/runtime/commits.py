"""The one fan-out for "a transaction committed work": whatever commits calls ``notify``,
whatever acts on new work (the outbox worker) subscribes."""

from __future__ import annotations

from collections.abc import Callable


class CommitNotifier:
    def __init__(self) -> None:
        self._subscribers: list[Callable[[], None]] = []

    def subscribe(self, callback: Callable[[], None]) -> None:
        self._subscribers.append(callback)

    def notify(self) -> None:
        for callback in self._subscribers:
            callback()
