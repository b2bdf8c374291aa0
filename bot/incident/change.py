"""One change to an incident: its field updates, timeline events and Slack actions,
written together at the end of the transaction. Used by commands and timers alike."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage import alerting as repo


class IncidentChange:
    def __init__(self, session: Any, incident: Any, actor: str, now: datetime, ctx: Any = None) -> None:
        self.session, self.incident, self.actor, self.now, self.ctx = session, incident, actor, now, ctx
        self._values: dict[str, Any] = {}
        self._events: list[tuple[str, dict[str, Any]]] = []
        self._actions: list[tuple[str, dict[str, Any]]] = []
        self._header = False
        self._topic = False

    def set(self, **values: Any) -> None:
        self._values.update(values)
        for key, value in values.items():
            setattr(self.incident, key, value)  # later checks in this change see the new state
        self._header = True

    def refresh_header(self) -> None:
        """The header shows something that changed outside the incident row (a silence)."""
        self._header = True

    def event(self, kind: str, data: dict[str, Any]) -> None:
        self._events.append((kind, data))

    def event_kinds(self) -> set[str]:
        return {kind for kind, _ in self._events}

    def announce(self, text: str, topic: bool = False, blocks: list[dict[str, Any]] | None = None) -> None:
        payload: dict[str, Any] = {"text": text, "purpose": "command"}
        if blocks is not None:
            payload["blocks"] = blocks
        self._actions.append(("message.post", payload))
        self._topic = self._topic or topic

    def invite(self, user: str) -> None:
        self._actions.append(("channel.invite", {"user": user}))

    def post_elsewhere(self, channel: str, text: str) -> None:
        self._actions.append(("message.post_to", {"channel": channel, "text": text}))

    def action(self, kind: str, payload: dict[str, Any] | None = None) -> None:
        self._actions.append((kind, payload or {}))

    def flush(self, session: Any) -> None:
        incident_id = self.incident.id
        if self._values:
            repo.update_incident(session, incident_id, **{**self._values, "updated_at": self.now})
        repo.append_events(session, incident_id, [
            {"occurred_at": self.now, "recorded_at": self.now, "kind": kind, "actor": self.actor, "data": data}
            for kind, data in self._events])
        actions = list(self._actions)
        if self._topic:
            actions.append(("channel.topic", {}))
        if self._header:
            actions.append(("message.update_header", {}))
        repo.enqueue_many(session, ordering_key=f"incident:{incident_id}", incident_id=incident_id,
                          actions=actions, now=self.now)
