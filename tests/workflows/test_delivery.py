"""Workflow actions through the real outbox worker against the strict fakes: retried with
backoff on 5xx and timeouts, waiting on 429, never repeated on a 4xx, given up after the
last retry with the commander told once what failed and why; counted on /metrics by kind
and outcome. On both databases."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client import generate_latest
from sqlalchemy.orm import Session

from bot.adapters.grafana import GrafanaClient
from bot.adapters.pagerduty import PagerDutyClient
from bot.adapters.signed_webhook import WebhookSender, signature
from bot.clock import ManualClock
from bot.delivery.dispatch import ActionDispatcher
from bot.delivery.outcome import Done
from bot.delivery.worker import OutboxWorker
from bot.delivery.workflow_actions import WorkflowActions
from bot.domain.kinds import ActionKind
from bot.observability.metrics import Metrics
from storage import alerting, outbox
from storage.database import Database
from storage.outbox import ClaimedAction
from tests.support import rows
from tests.support.slack import eventually
from tests.workflows.support import GRAFANA_TOKEN, HOOK_SECRET, ROUTING_KEY, Peers

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
TRIGGER = {"workflow": "page-payments", "event_action": "trigger", "routing_key_env": "TEST_PAGERDUTY_ROUTING_KEY",
           "dedup_key": "incident-bot-1-20261122T100000", "follow_up": False, "summary": "[SEV1] api down",
           "source": "incident-bot", "severity": "critical"}


def _incident(session: Session, actions: list[tuple[ActionKind, dict[str, object]]]) -> int:
    incident_id = alerting.insert_incident(
        session, title="api down", status="investigating", severity="sev1", playbook="p", route="r",
        source="alertmanager", declared_by=None, commander="UCMD", channel_name="inc-1-api", channel_id="C1",
        header_ts=None, roles={}, storm_key=None, policy={}, opened_at=T0, acknowledged_at=None,
        mitigated_at=None, resolved_at=None, all_alerts_resolved_at=None, updated_at=T0)
    alerting.enqueue_many(session, ordering_key=f"workflow:{incident_id}", incident_id=incident_id, now=T0,
                          actions=actions)
    return incident_id


@asynccontextmanager
async def working(db: Database, peers: Peers, clock: ManualClock, metrics: Metrics,
                  grafana_token: str = GRAFANA_TOKEN, hook_secret: str = HOOK_SECRET) -> AsyncIterator[None]:
    environ = {"TEST_PAGERDUTY_ROUTING_KEY": ROUTING_KEY, "TEST_HOOK_SECRET": hook_secret}
    async with PagerDutyClient(peers.pagerduty.url, timeout=1.0) as pagerduty, \
            GrafanaClient(peers.grafana.url, grafana_token, timeout=1.0) as grafana:
        webhooks = WebhookSender(timeout=1.0)
        actions = WorkflowActions(db, clock, "https://bot.example.com", pagerduty=pagerduty, webhooks=webhooks,
                                  grafana=grafana, environ=environ)
        slack = {ActionKind.MESSAGE_POST: posted}  # the notices to the channel: read from the outbox here
        worker = OutboxWorker(db, ActionDispatcher(actions.handlers, slack).run, clock, metrics, poll_interval=0.02)
        worker.start()
        try:
            yield
        finally:
            await worker.stop()
            await webhooks.aclose()


async def posted(_action: ClaimedAction) -> Done:
    return Done()


async def settled(db: Database, clock: ManualClock, step: timedelta = timedelta(minutes=10)) -> None:
    async def done() -> bool:
        clock.advance(step)  # past every backoff and Retry-After
        return all(o.state != "pending" for o in await rows.outbox(db))
    await eventually(done, what="the workflow actions to finish")


async def notices(db: Database) -> list[str]:
    return [str(o.payload["text"]) for o in await rows.outbox(db) if o.kind == "message.post"]


def counted(metrics: Metrics, kind: str, outcome: str) -> float:
    value = metrics.registry.get_sample_value("incident_bot_outbox_actions_total", {"kind": kind, "result": outcome})
    return value or 0.0


async def test_5xx_and_429_are_retried_until_pagerduty_accepts(db: Database, peers: Peers) -> None:
    await db.write(_incident, [(ActionKind.PAGERDUTY_EVENT, TRIGGER)])
    peers.pagerduty.fail_next = [503, 429, 502]
    clock, metrics = ManualClock(T0), Metrics()
    async with working(db, peers, clock, metrics):
        await settled(db, clock)
    assert peers.pagerduty.actions(TRIGGER["dedup_key"]) == ["trigger"]
    [action] = [o for o in await rows.outbox(db) if o.kind == ActionKind.PAGERDUTY_EVENT]
    assert action.state == "done" and action.result["dedup_key"] == TRIGGER["dedup_key"]
    assert ROUTING_KEY not in str(action.result) and ROUTING_KEY not in str(action.payload)
    assert counted(metrics, "pagerduty.event", "retried") == 2 and counted(metrics, "pagerduty.event", "rate_limited") == 1
    assert counted(metrics, "pagerduty.event", "done") == 1
    assert b'incident_bot_outbox_actions_total{kind="pagerduty.event",result="done"} 1.0' in generate_latest(
        metrics.registry)


async def test_a_400_is_not_repeated_and_the_commander_is_told_what_to_fix(db: Database, peers: Peers) -> None:
    incident_id = await db.write(_incident, [(ActionKind.PAGERDUTY_EVENT, {**TRIGGER, "severity": "sev1"})])
    clock, metrics = ManualClock(T0), Metrics()
    async with working(db, peers, clock, metrics):
        await settled(db, clock)
    assert peers.pagerduty.events == []
    [notice] = await notices(db)
    assert notice.startswith(":warning: <@UCMD> incident-bot could not page PagerDuty (workflow page-payments): "
                             "PagerDuty said `400 'payload.severity' is invalid")
    assert "check TEST_PAGERDUTY_ROUTING_KEY" in notice
    assert "slack.action_failed" in await rows.event_kinds(db, incident_id)
    assert counted(metrics, "pagerduty.event", "failed") == 1


async def test_after_the_last_retry_the_commander_is_told_once(db: Database, peers: Peers) -> None:
    await db.write(_incident, [(ActionKind.PAGERDUTY_EVENT, TRIGGER)])
    peers.pagerduty.fail_next = [500] * 20
    clock = ManualClock(T0)
    async with working(db, peers, clock, Metrics()):
        await settled(db, clock)
    [action] = [o for o in await rows.outbox(db) if o.kind == ActionKind.PAGERDUTY_EVENT]
    assert action.state == "failed" and "gave up after 10 attempts" in str(action.last_error)
    assert len(peers.pagerduty.fail_next) == 10
    told = await notices(db)
    outage = [t for t in told if t.startswith(":hourglass:")]
    failed = [t for t in told if "could not page PagerDuty" in t]
    assert len(outage) == 1 and len(failed) == 1, told
    assert "`500 Internal Server Error (gave up after 10 attempts)`" in failed[0]


async def test_a_missing_routing_key_or_a_bad_grafana_token_says_what_to_fix(db: Database, peers: Peers) -> None:
    await db.write(_incident, [
        (ActionKind.PAGERDUTY_EVENT, {**TRIGGER, "routing_key_env": "UNSET_ROUTING_KEY"}),
        (ActionKind.GRAFANA_ANNOTATE, {"workflow": "w", "time": 1, "tags": ["incident"], "text": "api down"}),
    ])
    clock = ManualClock(T0)
    async with working(db, peers, clock, Metrics(), grafana_token="glsa_wrong"):
        await settled(db, clock)
    told = await notices(db)
    assert any("PagerDuty said `UNSET_ROUTING_KEY is not set` — set the environment variable UNSET_ROUTING_KEY" in t
               for t in told), told
    assert any("could not add the Grafana annotation (workflow w): Grafana said `401 Unauthorized` — check "
               "GRAFANA_TOKEN" in t for t in told), told
    assert peers.grafana.annotations == {}


async def test_a_follow_up_of_a_page_never_sent_sends_nothing(db: Database, peers: Peers) -> None:
    resolve = {k: v for k, v in TRIGGER.items() if k not in ("summary", "source", "severity")}
    await db.write(_incident, [(ActionKind.PAGERDUTY_EVENT, {**resolve, "event_action": "resolve", "follow_up": True}),
                               (ActionKind.GRAFANA_REGION, {"workflow": "w", "time_end": 5})])
    clock = ManualClock(T0)
    async with working(db, peers, clock, Metrics()):
        await settled(db, clock)
    assert peers.pagerduty.events == [] and peers.grafana.requests == []
    assert {o.result.get("skipped") for o in await rows.outbox(db)} == {"never triggered", "no annotation"}


async def test_the_webhook_is_signed_and_a_wrong_secret_is_refused(db: Database, peers: Peers) -> None:
    hook = {"workflow": "w", "url": peers.hooks.url, "secret_env": "TEST_HOOK_SECRET",
            "event": {"kind": "incident.opened", "data": {}, "actor": "alertmanager", "occurred_at": T0.isoformat()},
            "incident": {"id": 1, "title": "api down"}}
    await db.write(_incident, [(ActionKind.WEBHOOK_SEND, hook)])
    clock = ManualClock(T0)
    peers.hooks.now = clock  # the receiver refuses a body sent more than five minutes ago
    async with working(db, peers, clock, Metrics()):
        await settled(db, clock, step=timedelta(0))
    [body] = peers.hooks.accepted
    assert body["incident"] == {"id": 1, "title": "api down"} and body["actor"] == "alertmanager"
    assert body["links"] == {"incident": "https://bot.example.com/ui/incidents/1",
                             "channel": "https://slack.com/app_redirect?channel=C1"}

    await db.write(_incident, [(ActionKind.WEBHOOK_SEND, hook)])
    async with working(db, peers, clock, Metrics(), hook_secret="not-the-receivers"):
        await settled(db, clock, step=timedelta(0))
    clock.advance(timedelta(minutes=6))
    replayed = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    async with httpx.AsyncClient() as client:
        response = await client.post(peers.hooks.url, content=replayed, headers={
            "X-Incident-Bot-Signature": signature(HOOK_SECRET, replayed), "X-Incident-Bot-Delivery": body["delivery"]})
    assert response.status_code == 400 and peers.hooks.refused == ["signature", "replay"]
    assert len(peers.hooks.accepted) == 1
    assert any("the receiver refused the signature: check that it uses the secret in TEST_HOOK_SECRET" in t
               for t in await notices(db))


@pytest.mark.parametrize("status", [500, 503])
async def test_grafana_annotation_then_region_after_an_outage(db: Database, peers: Peers, status: int) -> None:
    await db.write(_incident, [
        (ActionKind.GRAFANA_ANNOTATE, {"workflow": "w", "time": 1000, "tags": ["incident"], "text": "api <down>"}),
        (ActionKind.GRAFANA_REGION, {"workflow": "w", "time_end": 9000}),
    ])
    peers.grafana.fail_next = [status, status]
    clock = ManualClock(T0)
    async with working(db, peers, clock, Metrics()):
        await settled(db, clock)
    [annotation] = peers.grafana.annotations.values()
    assert (annotation.time, annotation.time_end) == (1000, 9000)
    assert annotation.text.startswith("api &lt;down&gt;\n<a href=\"https://bot.example.com/ui/incidents/1\">")


def test_workflow_kinds_are_on_metrics_before_their_first_action() -> None:
    text = generate_latest(Metrics().registry).decode()
    for kind in ("pagerduty.event", "grafana.annotate", "grafana.region", "webhook.send"):
        assert f'incident_bot_outbox_actions_total{{kind="{kind}",result="failed"}} 0.0' in text


def test_a_webhook_failure_does_not_show_the_urls_query() -> None:
    from bot.delivery.failure_words import describe_failure
    line = describe_failure(ActionKind.WEBHOOK_SEND, {"workflow": "w", "url": "https://hooks.example.com/x?token=abc"},
                            "404 Not Found", service="webhook", hint="check the webhook url in the playbook")
    assert line == ("incident-bot could not send the webhook to https://hooks.example.com/x (workflow w): "
                    "The webhook receiver said `404 Not Found` — check the webhook url in the playbook.")


async def test_follow_ups_find_what_was_done_after_the_outbox_forgot_it(db: Database, peers: Peers) -> None:
    incident_id = await db.write(_incident, [
        (ActionKind.PAGERDUTY_EVENT, TRIGGER),
        (ActionKind.GRAFANA_ANNOTATE, {"workflow": "w", "time": 1000, "tags": ["incident"], "text": "api down"})])
    clock = ManualClock(T0)
    async with working(db, peers, clock, Metrics()):
        await settled(db, clock)
        # An incident open longer than DELIVERY_RETENTION_DAYS: its finished actions are purged.
        await db.write(lambda s: outbox.purge_finished(s, T0 + timedelta(days=3650)))
        resolve = {k: v for k, v in TRIGGER.items() if k not in ("summary", "source", "severity")}
        await db.write(lambda s: alerting.enqueue_many(
            s, ordering_key=f"workflow:{incident_id}", incident_id=incident_id, now=clock(), actions=[
                (ActionKind.PAGERDUTY_EVENT, {**resolve, "event_action": "resolve", "follow_up": True}),
                (ActionKind.GRAFANA_REGION, {"workflow": "w", "time_end": 9000})]))
        await settled(db, clock)
    assert peers.pagerduty.actions(TRIGGER["dedup_key"]) == ["trigger", "resolve"]
    [annotation] = peers.grafana.annotations.values()
    assert annotation.time_end == 9000


async def test_a_page_waits_for_the_channel_only_briefly(db: Database, peers: Peers) -> None:
    def without_channel(session: Session) -> int:
        incident_id = _incident(session, [(ActionKind.PAGERDUTY_EVENT, TRIGGER)])
        alerting.update_incident(session, incident_id, channel_id=None)
        return incident_id
    await db.write(without_channel)
    clock = ManualClock(T0)
    async with working(db, peers, clock, Metrics()):
        await settled(db, clock, step=timedelta(seconds=5))  # Slack is down: no channel comes
    [alert] = peers.pagerduty.alerts.values()
    assert [link["href"] for link in alert.links] == ["https://bot.example.com/ui/incidents/1"]
