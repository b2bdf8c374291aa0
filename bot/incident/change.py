"""One change to an incident: its field updates, timeline events, Slack actions and timer
keeping, written together at the end of the transaction. Used by commands and timers alike."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TypedDict, Unpack

from sqlalchemy.orm import Session

from bot.domain.kinds import ActionKind, EventKind
from bot.incident.workflow_runs import enqueue_workflows
from storage import alerting as repo
from storage.rows import IncidentRow, NewEvent

Payload = dict[str, object]
# An outbox action on one of the incident's queues: (ordering key, kind, payload).
KeyedAction = tuple[str, ActionKind, Payload]
# Runs at flush, after the change is written, with the incident as changed.
TimerKeeping = Callable[[Session, IncidentRow, datetime], None]


class IncidentUpdate(TypedDict, total=False):
    """The incident fields a transition changes."""

    status: str
    severity: str
    commander: str | None
    roles: Mapping[str, str]
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    all_alerts_resolved_at: datetime | None


class IncidentChange:
    """Collects a change in memory; :meth:`flush` writes it in the caller's transaction."""

    def __init__(self, incident: IncidentRow, actor: str, now: datetime) -> None:
        self.actor, self.now = actor, now
        self._incident = incident
        self._values: IncidentUpdate = {}
        self._events: list[tuple[EventKind, Payload, datetime]] = []
        self._actions: list[tuple[ActionKind, Payload]] = []
        self._elsewhere: list[KeyedAction] = []
        self._timer_keeping: list[TimerKeeping] = []
        self._header = False
        self._topic = False
        self._touched = False

    @property
    def incident(self) -> IncidentRow:
        """The incident as this change leaves it so far."""
        return self._incident

    def set(self, **values: Unpack[IncidentUpdate]) -> None:
        self._values.update(values)
        self._incident = replace(self._incident, **values)  # later checks in this change see the new state
        self._header = True

    def refresh_header(self) -> None:
        """The header shows something that changed outside the incident row (a silence)."""
        self._header = True

    def refresh_topic(self) -> None:
        """The topic shows what changed, though no line of this change announces it."""
        self._topic = True

    def touch(self) -> None:
        """The incident changed outside its row (its alerts): its ``updated_at`` moves on."""
        self._touched = True

    def event(self, kind: EventKind, data: Payload, occurred_at: datetime | None = None) -> None:
        """Record an event on the timeline; it occurred ``now`` unless it says when."""
        self._events.append((kind, data, self.now if occurred_at is None else occurred_at))

    def event_kinds(self) -> frozenset[EventKind]:
        return frozenset(kind for kind, _, _ in self._events)

    def announce(self, text: str, topic: bool = False, blocks: list[dict[str, object]] | None = None,
                 purpose: str = "command") -> None:
        payload: Payload = {"text": text, "purpose": purpose}
        if blocks is not None:
            payload["blocks"] = blocks
        self._actions.append((ActionKind.MESSAGE_POST, payload))
        self._topic = self._topic or topic

    def invite(self, user: str) -> None:
        self._actions.append((ActionKind.CHANNEL_INVITE, {"user": user}))

    def post_elsewhere(self, channel: str, text: str) -> None:
        self._actions.append((ActionKind.MESSAGE_POST_TO, {"channel": channel, "text": text}))

    def action(self, kind: ActionKind, payload: Payload | None = None) -> None:
        self._actions.append((kind, payload or {}))

    def action_on_queue(self, action: KeyedAction) -> None:
        """An action on another of the incident's queues (its trace links'), which does not
        wait behind the channel's; enqueued in the same statement as the channel's actions."""
        self._elsewhere.append(action)

    @property
    def events(self) -> tuple[tuple[EventKind, Payload], ...]:
        return tuple((kind, data) for kind, data, _ in self._events)

    @property
    def actions(self) -> tuple[tuple[ActionKind, Payload], ...]:
        """The outbox actions, in order, that :meth:`flush` will enqueue."""
        actions = list(self._actions)
        if self._topic:
            actions.append((ActionKind.CHANNEL_TOPIC, {}))
        if self._header:
            actions.append((ActionKind.MESSAGE_UPDATE_HEADER, {}))
        return tuple(actions)

    @property
    def timer_keeping(self) -> tuple[TimerKeeping, ...]:
        return tuple(self._timer_keeping)

    def keep_timers(self, keeping: TimerKeeping) -> None:
        """Adjust the incident's timers once the change is written (each adjustment once)."""
        if keeping not in self._timer_keeping:
            self._timer_keeping.append(keeping)

    def flush(self, session: Session) -> None:
        incident_id = self._incident.id
        if self._values or self._touched:
            repo.update_incident(session, incident_id, **self._values, updated_at=self.now)
        repo.append_events(session, incident_id, [NewEvent(kind, self.actor, data, occurred_at=occurred_at,
                                                           recorded_at=self.now)
                                                  for kind, data, occurred_at in self._events])
        queue = f"incident:{incident_id}"
        repo.enqueue_keyed(session, incident_id=incident_id, now=self.now,
                           actions=[*((queue, kind, payload) for kind, payload in self.actions), *self._elsewhere])
        enqueue_workflows(session, self._incident, [(kind, data, self.actor, occurred_at)
                                                    for kind, data, occurred_at in self._events], self.now)
        for keeping in self._timer_keeping:
            keeping(session, self._incident, self.now)
