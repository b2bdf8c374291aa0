"""How the outbox carries out playbook workflows' actions: PagerDuty events, Grafana
annotations, signed webhooks, and posts and invitations in Slack.

Each is once in effect: PagerDuty deduplicates on the incident's ``dedup_key``; a retried
annotation first looks for the one an interrupted attempt created (by the incident's tag,
time and text); a webhook carries the action's id in ``X-Incident-Bot-Delivery`` for the
receiver to deduplicate; a post is found by its metadata. Secrets are read from the
environment variable an action names, when it is sent, and never stored.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

from bot.adapters.grafana import GrafanaClient
from bot.adapters.pagerduty import OPERATION as PAGERDUTY_OPERATION
from bot.adapters.pagerduty import PagerDutyClient
from bot.adapters.signed_webhook import WebhookSender
from bot.clock import Clock
from bot.delivery.outcome import Done, NotReady
from bot.delivery.posting import Poster
from bot.domain.failures import PermanentFailure
from bot.domain.kinds import ActionKind, EventKind
from bot.domain.links import incident_page_url, slack_channel_url
from bot.slack.gateway import SlackGateway, SlackPermanentError
from storage import alerting as repo
from storage import incidents as store
from storage.database import Database
from storage.outbox import ClaimedAction
from storage.rows import IncidentRow, NewEvent

__all__ = ["WorkflowActions"]

Handler = Callable[[ClaimedAction], Awaitable[Done]]
GroupMembers = Callable[[str], Awaitable[frozenset[str]]]
# An invitation waits for the incident channel (created on the incident's own queue) this long.
CHANNEL_WAIT = timedelta(hours=1)
# A page waits this long for the channel so it can link to it; a Slack outage delays paging no more.
CHANNEL_LINK_WAIT = timedelta(seconds=20)


class WorkflowActions:
    def __init__(self, db: Database, clock: Clock, public_url: str, *, pagerduty: PagerDutyClient,
                 webhooks: WebhookSender, grafana: GrafanaClient | None = None, gateway: SlackGateway | None = None,
                 group_members: GroupMembers | None = None, environ: Mapping[str, str] = os.environ) -> None:
        self._db = db
        self._clock = clock
        self._public_url = public_url
        self._pagerduty = pagerduty
        self._webhooks = webhooks
        self._grafana = grafana
        self._slack = gateway
        self._poster = Poster(gateway) if gateway is not None else None
        self._group_members = group_members
        self._environ = environ

    @property
    def handlers(self) -> Mapping[str, Handler]:
        handlers: dict[str, Handler] = {
            ActionKind.PAGERDUTY_EVENT: self._page,
            ActionKind.GRAFANA_ANNOTATE: self._annotate,
            ActionKind.GRAFANA_REGION: self._region,
            ActionKind.WEBHOOK_SEND: self._webhook,
        }
        if self._slack is not None:
            handlers[ActionKind.WORKFLOW_POST] = self._post
            handlers[ActionKind.WORKFLOW_INVITE] = self._invite
        return {str(kind): handler for kind, handler in handlers.items()}

    # -- reading ---------------------------------------------------------------

    async def _incident(self, action: ClaimedAction) -> IncidentRow:
        assert action.incident_id is not None
        async with self._db.reading() as session:
            incident = await session.run_sync(repo.get_incident, action.incident_id)
        if incident is None:
            raise PermanentFailure(action.kind, f"incident {action.incident_id} no longer exists")
        return incident

    async def _done_before(self, action: ClaimedAction, name: str) -> list[dict[str, Any]]:
        """What earlier workflow actions named ``name`` recorded on the incident's timeline
        (kept as long as the incident, unlike finished outbox rows)."""
        assert action.incident_id is not None
        async with self._db.reading() as session:
            done = await session.run_sync(store.event_data, action.incident_id, EventKind.WORKFLOW_ACTION)
        return [data for data in done if data.get("action") == name]

    def _secret(self, name: str, *, service: str, operation: str, what: str) -> str:
        value = self._environ.get(name, "")
        if not value:
            raise PermanentFailure(operation, f"{name} is not set", service=service,
                                   hint=f"set the environment variable {name} to {what} and restart the bot")
        return value

    def _event(self, action: ClaimedAction, name: str, **data: object) -> NewEvent:
        now = self._clock()
        return NewEvent(EventKind.WORKFLOW_ACTION, "bot",
                        {"action": name, "workflow": action.payload.get("workflow"), **data},
                        occurred_at=now, recorded_at=now)

    # -- PagerDuty -------------------------------------------------------------

    async def _page(self, action: ClaimedAction) -> Done:
        payload = action.payload
        env, event_action = str(payload["routing_key_env"]), str(payload["event_action"])
        if payload.get("follow_up"):
            earlier = await self._done_before(action, "page")
            if not any(r.get("event_action") == "trigger" and r.get("routing_key_env") == env for r in earlier):
                return Done({"skipped": "never triggered", "event_action": event_action})
        routing_key = self._secret(env, service="pagerduty", operation=PAGERDUTY_OPERATION,
                                   what="the Integration Key of a PagerDuty Events API v2 integration")
        event: dict[str, Any] = {"routing_key": routing_key, "event_action": event_action,
                                 "dedup_key": payload["dedup_key"]}
        if event_action == "trigger":
            incident = await self._incident(action)
            if not incident.channel_id and self._clock() - action.created_at < CHANNEL_LINK_WAIT:
                raise NotReady(action.kind, "waiting for the incident channel to link to")
            page = incident_page_url(self._public_url, incident.id)
            links = [{"href": page, "text": f"Incident #{incident.id} in incident-bot"}]
            channel = slack_channel_url(incident.channel_id)
            if channel is not None:
                links.append({"href": channel, "text": f"#{incident.channel_name} in Slack"})
            event.update(client="incident-bot", client_url=page, links=links, payload={
                "summary": payload["summary"], "source": payload["source"], "severity": payload["severity"],
                "component": incident.route, "group": incident.playbook,
                "custom_details": {"incident": incident.id, "status": incident.status,
                                   "commander": incident.commander, "severity": incident.severity}})
        dedup = await self._pagerduty.send_event(event, routing_key_env=env)
        result = {"event_action": event_action, "routing_key_env": env, "dedup_key": dedup}
        return Done(result, events=[self._event(action, "page", event_action=event_action, dedup_key=dedup,
                                                routing_key_env=env)])

    # -- Grafana ---------------------------------------------------------------

    def _grafana_client(self, operation: str) -> GrafanaClient:
        if self._grafana is None:
            raise PermanentFailure(operation, "GRAFANA_URL or GRAFANA_TOKEN is not set", service="grafana",
                                   hint="set GRAFANA_URL and GRAFANA_TOKEN (a service account token) and restart")
        return self._grafana

    async def _annotate(self, action: ClaimedAction) -> Done:
        grafana = self._grafana_client("POST /api/annotations")
        incident = await self._incident(action)
        payload = action.payload
        tags = [str(t) for t in payload["tags"]]
        at = int(payload["time"])
        text = (f'{html.escape(str(payload["text"]))}\n'
                f'<a href="{html.escape(incident_page_url(self._public_url, incident.id))}">incident #{incident.id}</a>')
        annotation_id = None
        if action.attempts > 1:  # an interrupted attempt may have created it
            found = await grafana.find_annotations(tags=tags, start=at, end=at)
            annotation_id = next((int(a["id"]) for a in found if a.get("time") == at and a.get("text") == text), None)
        if annotation_id is None:
            body: dict[str, Any] = {"time": at, "tags": tags, "text": text}
            if "dashboard_uid" in payload:
                body["dashboardUID"] = payload["dashboard_uid"]
            if "panel_id" in payload:
                body["panelId"] = payload["panel_id"]
            annotation_id = await grafana.create_annotation(body)
        return Done({"annotation_id": annotation_id},
                    events=[self._event(action, "grafana_annotation", annotation_id=annotation_id)])

    async def _region(self, action: ClaimedAction) -> Done:
        ids = [int(str(r["annotation_id"])) for r in await self._done_before(action, "grafana_annotation")
               if "annotation_id" in r]
        if not ids:
            return Done({"skipped": "no annotation"})
        grafana = self._grafana_client("PATCH /api/annotations/:id")
        for annotation_id in ids:
            await grafana.patch_annotation(annotation_id, {"timeEnd": int(action.payload["time_end"])})
        return Done({"annotation_ids": ids}, events=[self._event(action, "grafana_region", annotation_ids=ids)])

    # -- webhooks --------------------------------------------------------------

    async def _webhook(self, action: ClaimedAction) -> Done:
        payload = action.payload
        url, env = str(payload["url"]), str(payload["secret_env"])
        secret = self._secret(env, service="webhook", operation=f"POST {url}",
                              what="the secret the receiver checks the signature with")
        incident = await self._incident(action)
        event = payload["event"]
        body = json.dumps({
            "delivery": str(action.id), "sent_at": self._clock().isoformat(), "workflow": payload.get("workflow"),
            "event": event, "actor": event.get("actor") if isinstance(event, dict) else None,
            "incident": payload["incident"],
            "links": {"incident": incident_page_url(self._public_url, incident.id),
                      "channel": slack_channel_url(incident.channel_id)},
        }, separators=(",", ":"), sort_keys=True).encode()
        status = await self._webhooks.send(url, body, secret=secret, delivery=str(action.id), secret_env=env)
        return Done({"status": status}, events=[self._event(action, "webhook", status=status)])

    # -- Slack -----------------------------------------------------------------

    async def _post(self, action: ClaimedAction) -> Done:
        assert self._poster is not None
        channel = await self._poster.channel_id(str(action.payload["channel"]))
        ts = await self._poster.post_once(action, channel, str(action.payload["text"]))
        return Done({"ts": ts, "channel": channel}, events=[self._event(action, "post", channel=channel)])

    async def _invite(self, action: ClaimedAction) -> Done:
        assert self._slack is not None
        incident = await self._incident(action)
        if not incident.channel_id:
            if self._clock() - action.created_at < CHANNEL_WAIT:
                raise NotReady(action.kind, "the incident channel is not created yet")
            raise PermanentFailure(action.kind, "the incident channel was never created")
        users = [str(u) for u in action.payload.get("users") or []]
        group = action.payload.get("usergroup")
        if group and self._group_members is not None:
            users += sorted(await self._group_members(str(group)) - set(users))
        for user in users:
            try:
                await self._slack.call("conversations.invite", channel=incident.channel_id, users=user)
            except SlackPermanentError as exc:
                if exc.error not in ("already_in_channel", "cant_invite_self"):
                    raise
        return Done({"invited": users}, events=[self._event(action, "invite", users=users)])
