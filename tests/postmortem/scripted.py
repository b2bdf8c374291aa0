"""A scripted incident for the golden postmortem, and helpers to build records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.postmortem import AlertRecord, EventRecord, FollowUpRecord, IncidentRecord, PostmortemRecord

DAY = datetime(2026, 3, 12, tzinfo=UTC)


def at(hh: int, mm: int, ss: int = 0, day: datetime = DAY) -> datetime:
    return day + timedelta(hours=hh, minutes=mm, seconds=ss)


class Log:
    """Events in the order the bot recorded them (ids ascending), each with its own
    occurred_at: alert events carry the alert's start or end, so recording order is not
    timeline order."""

    def __init__(self) -> None:
        self.events: list[EventRecord] = []

    def add(self, occurred: datetime, kind: str, actor: str, recorded: datetime | None = None,
            **data: Any) -> EventRecord:
        event = EventRecord(len(self.events) + 1, occurred, recorded or occurred, kind, actor, data)
        self.events.append(event)
        return event


def fired(log: Log, alert: AlertRecord, recorded: datetime) -> None:
    log.add(alert.starts_at, "alert.fired", "alertmanager", recorded, fingerprint=alert.fingerprint,
            alertname=alert.labels["alertname"], detail=alert.labels.get("instance", alert.fingerprint[:8]),
            starts_at=alert.starts_at.isoformat(), labels=dict(alert.labels))


def resolved(log: Log, alert: AlertRecord, recorded: datetime) -> None:
    assert alert.ends_at is not None
    log.add(alert.ends_at, "alert.resolved", "alertmanager", recorded, fingerprint=alert.fingerprint,
            alertname=alert.labels["alertname"], detail=alert.labels.get("instance", alert.fingerprint[:8]),
            starts_at=alert.starts_at.isoformat(), ends_at=alert.ends_at.isoformat())


ERRORS_QUERY = "http://prometheus.example.com:9090/graph?g0.expr=job%3Acheckout%3Aerror_rate+%3E+0.05&g0.tab=1"
LATENCY_QUERY = "http://prometheus.example.com:9090/graph?g0.expr=histogram_quantile(0.99%2C+checkout_latency)&g0.tab=1"
ERRORS_RUNBOOK = "https://runbooks.example.com/checkout/high-error-rate"

COMMANDER, RESPONDER, LEAD = "U0AAA0001", "U0BBB0002", "U0CCC0003"


def scripted() -> tuple[IncidentRecord, list[EventRecord], list[AlertRecord]]:
    """Incident #42: a burst of checkout alerts, acknowledgement, a severity change, a
    silence, a note, two stakeholder updates, a change of commander, a role, a pinned
    message, monitoring, the alerts resolving in a burst, the resolution and the silence
    expiring with it; with the bookkeeping events
    (commands, reminders, a failed Slack call) that the postmortem leaves out."""
    alerts = [
        AlertRecord(f"a1e{i}00000000000{i}", {"alertname": "HighErrorRate", "instance": f"api-{i}", "job": "checkout",
                                         "severity": "warning"},
                    {"summary": f"Error rate above 5% on api-{i}", "runbook_url": ERRORS_RUNBOOK},
                    at(14, 2, 10 + 15 * (i - 1)), at(14, 20, 40 + 10 * (i - 1)), "resolved", ERRORS_QUERY)
        for i in (1, 2, 3)
    ]
    alerts.append(AlertRecord("b2f0000000000004", {"alertname": "HighLatency", "instance": "api-1", "job": "checkout",
                                                   "severity": "warning"},
                              {"summary": "p99 checkout latency above 2s"},
                              at(14, 2, 55), at(14, 21, 10), "resolved", LATENCY_QUERY))

    log = Log()
    opened = at(14, 3, 30)
    log.add(opened, "incident.opened", "alertmanager", severity="sev2", route="payments/checkout",
            group_key='{}:{alertname=~"High.*", job="checkout"}', title="Checkout API error rate above 5%")
    log.add(opened, "commander.assigned", "alertmanager", commander=COMMANDER, source="rotation:payments-primary")
    for alert in alerts:
        fired(log, alert, opened)
    log.add(at(14, 4, 5), "participant.joined", COMMANDER, user=COMMANDER)
    log.add(at(14, 4, 6), "participant.joined", RESPONDER, user=RESPONDER)
    log.add(at(14, 5, 40), "commander.acknowledged", COMMANDER, commander=COMMANDER)
    log.add(at(14, 5, 40), "command", COMMANDER, source="button", text="", allowed=True)
    log.add(at(14, 9), "severity.changed", RESPONDER, **{"from": "sev2", "to": "sev1",
                                                          "reason": "checkout failing for EU customers",
                                                          "automatic": False})
    log.add(at(14, 9), "command", RESPONDER, source="slash", text="severity sev1 checkout failing for EU customers",
            allowed=True)
    log.add(at(14, 6, 30), "silence.created", COMMANDER, id="4c1f0e9a-2b7d-4e0a-9a51-6f3d2c8b1e07",
            ends_at=at(16, 6, 30).isoformat(), matchers={"job": "checkout", "alertname": "HighLatency"},
            comment="latency pages while we investigate")
    log.add(at(14, 10), "note.added", COMMANDER,
            text="Deploy 2026.03.12-3 of checkout-api went out at 13:58; rolling it back")
    log.add(at(14, 10), "command", COMMANDER, source="slash", text="note Deploy ...", allowed=True)
    log.add(at(14, 12, 30), "update.posted", COMMANDER,
            text="Checkout is failing for about 30% of EU customers.\n"
                 "We are rolling back today's checkout-api deploy. Next update by 14:45 UTC.")
    log.add(at(14, 12, 30), "command", COMMANDER, source="modal", text="", allowed=True)
    log.add(at(14, 13), "slack.action_failed", "bot", action="message.post_to", error="channel_not_found",
            method="chat.postMessage", notice="Could not post to #status")
    log.add(at(14, 14, 50), "participant.joined", LEAD, user=LEAD)
    log.add(at(14, 15), "commander.changed", LEAD, **{"from": COMMANDER, "to": LEAD})
    log.add(at(14, 15, 30), "role.assigned", LEAD, role="scribe", user=COMMANDER)
    log.add(at(14, 18, 20), "message.pinned", LEAD, ts="1773325100.000100", author=RESPONDER,
            text="Rollback finished on all pods: error rate back to 0.2% "
                 "<https://grafana.example.com/d/checkout|dashboard> &amp; latency normal",
            permalink="https://example.slack.com/archives/C0INC0042/p1773325100000100", pinned_by=LEAD)
    log.add(at(14, 19), "status.changed", LEAD, **{"from": "investigating", "to": "monitoring"})
    for alert in alerts:
        resolved(log, alert, at(14, 21, 15))
    log.add(at(14, 21, 10), "alerts.all_resolved", "alertmanager", at(14, 21, 15), prompt_commander=True)
    log.add(at(14, 42, 30), "update.reminded", "bot", due_at=at(14, 42, 30).isoformat())
    log.add(at(14, 31), "update.posted", LEAD,
            text="Error rates are back to normal since 14:21 UTC. We keep monitoring for 15 minutes.")
    log.add(at(14, 47), "incident.resolved", LEAD, summary="rolled back checkout-api 2026.03.12-3")
    log.add(at(14, 47, 1), "silence.expired", LEAD, id="4c1f0e9a-2b7d-4e0a-9a51-6f3d2c8b1e07")
    log.add(at(14, 47), "command", LEAD, source="slash", text="resolve rolled back checkout-api 2026.03.12-3",
            allowed=True)

    incident = IncidentRecord(
        id=42, title="Checkout API error rate above 5%", severity="sev1", status="resolved", source="alertmanager",
        playbook="payments", route="checkout", commander=LEAD, declared_by=None,
        channel_name="inc-20260312-42-checkout-api-error-rate-above-5", channel_id="C0INC0042",
        opened_at=opened, acknowledged_at=at(14, 15), mitigated_at=at(14, 19), resolved_at=at(14, 47),
        roles={"scribe": COMMANDER},
    )
    return incident, log.events, alerts


def scripted_aftercare() -> dict[str, Any]:
    """The work after incident #42: its postmortem in review, and three follow-ups (one with
    a GitHub issue, one done, one dropped, one whose text would break a table cell)."""
    return {
        "postmortem": PostmortemRecord("UCAROL", "in_review", due_at=DAY + timedelta(days=3, hours=14, minutes=47)),
        "followups": [
            FollowUpRecord(2, "Alert on pool saturation | before it hits <script>", None, None, "open"),
            FollowUpRecord(1, "Cap checkout's DB pool per pod", "UDAVE", DAY + timedelta(days=14), "open",
                           "https://github.com/acme/checkout/issues/81", "acme/checkout#81"),
            FollowUpRecord(3, "Page on error rate", "UBOB", None, "dropped"),
        ],
    }
