"""Which code carries out an outbox action, by its kind: the Slack actions and the
actions for other services (issue trackers, workflows) each bring a table of handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from bot.delivery.outcome import Done
from bot.domain.failures import PermanentFailure
from storage.outbox import ClaimedAction

Handler = Callable[[ClaimedAction], Awaitable[Done]]


class ActionDispatcher:
    def __init__(self, *tables: Mapping[str, Handler]) -> None:
        self._handlers: dict[str, Handler] = {}
        for table in tables:
            overlap = self._handlers.keys() & table.keys()
            if overlap:
                raise ValueError(f"two handlers for {sorted(overlap)}")
            self._handlers.update(table)

    @property
    def handled_kinds(self) -> frozenset[str]:
        return frozenset(self._handlers)

    async def run(self, action: ClaimedAction) -> Done:
        handler = self._handlers.get(action.kind)
        if handler is None:  # written by a newer version of the bot, or a kind since removed
            raise PermanentFailure(action.kind, "unknown action kind")
        return await handler(action)
