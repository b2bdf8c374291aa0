"""The triage notice: an alert group that was only recorded, posted to the route's triage
channel with a Declare button, and edited in place as the group changes."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bot.delivery.outcome import Done, MissingPrerequisite
from bot.delivery.posting import Poster
from bot.domain.decide import alert_detail
from bot.domain.links import Link, render_links
from bot.playbook import PlaybookSet, RouteMatch
from bot.slack import blocks
from bot.slack.gateway import SlackGateway
from storage import alerting as repo
from storage.database import Database
from storage.outbox import ClaimedAction

LINKED_ALERTS = 20  # the links of a group's first alerts: a large group has the same few


@dataclass(frozen=True, slots=True)
class _StoredAlert:
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    generator_url: str | None = None


class TriageNotice:
    def __init__(self, db: Database, gateway: SlackGateway, poster: Poster,
                 playbooks: Callable[[], PlaybookSet]) -> None:
        self._db = db
        self._slack = gateway
        self._poster = poster
        self._playbooks = playbooks

    async def __call__(self, action: ClaimedAction) -> Done:
        group_id = int(action.payload["group_id"])
        async with self._db.reading() as session:
            group = await session.run_sync(repo.get_group, group_id)
            alerts = await session.run_sync(repo.group_alert_details, group_id)
        if group is None:
            raise MissingPrerequisite(action.kind, f"alert group {group_id} no longer exists")
        match = next((m for m in self._playbooks().routes if f"{m.playbook.name}/{m.route.name}" == group.route), None)
        firing = [(labels, annotations, fp) for labels, annotations, fp, status in alerts if status == "firing"]
        lines = [blocks.AlertLine(str(labels.get("alertname", fp)), alert_detail(labels, fp),
                                  str(annotations.get("summary", "")))
                 for labels, annotations, fp in firing]
        severity, links = _severity_and_links(match, firing)
        title = str(group.group_labels.get("alertname") or group.group_key)
        payload_blocks = blocks.triage_blocks(title, severity, group.route or "-", lines, links, group_id,
                                              resolved=not firing)
        text = f"{blocks.escape(title)}: {len(firing)} firing (not declared)"
        if group.triage_ts and group.triage_channel_id:
            await self._slack.call("chat.update", channel=group.triage_channel_id, ts=group.triage_ts,
                                   text=text, blocks=payload_blocks)
            return Done({"ts": group.triage_ts, "updated": True})
        channel = await self._poster.channel_id(str(action.payload["channel"]))
        ts = await self._poster.post_once(action, channel, text, payload_blocks)
        return Done({"ts": ts, "channel": channel}, group_updates={"triage_ts": ts, "triage_channel_id": channel})


def _severity_and_links(match: RouteMatch | None,
                        firing: Sequence[tuple[Mapping[str, str], Mapping[str, str], str]]) -> tuple[str, list[Link]]:
    """The severity the group would open at, and its links; "-" and none without a route."""
    if match is None:
        return "-", []
    severities = [match.route.severity.severity_for(labels) for labels, _, _ in firing] or [match.route.severity.default]
    severity = min(severities, key=match.playbook.severity_rank)
    return severity, render_links(match.route, [_StoredAlert(labels, a) for labels, a, _ in firing[:LINKED_ALERTS]])
