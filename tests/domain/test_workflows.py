"""Which workflows run for an event, and what they send: a pure decision over plain values."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.kinds import ActionKind
from bot.domain.workflows import IncidentFacts, dedup_key, pagerduty_severity, plan_workflows
from bot.playbook.workflows import Workflow

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
SEVERITIES = ("sev1", "sev2", "sev3")


def incident(severity: str = "sev1", labels: dict[str, str] | None = None, title: str = "Checkout <!channel> down",
             route: str = "critical") -> IncidentFacts:
    return IncidentFacts(id=7, title=title, severity=severity, status="investigating", playbook="p", route=route,
                         commander="UALICE", opened_at=T0, severity_names=SEVERITIES,
                         labels=labels if labels is not None else {"team": "payments"})


def workflow(**fields: object) -> Workflow:
    data = {"name": "w", "on": ["incident.opened"], "do": [{"page": {"routing_key_env": "PD_KEY"}}], **fields}
    return Workflow.model_validate(data)


PAGE_PAYMENTS = workflow(**{"on": ["incident.opened", "severity.changed"],
                            "if": {"severity": ["sev1", "sev2"], "labels": ['team="payments"']}})


def kinds(planned: list[tuple[ActionKind, dict[str, object]]]) -> list[tuple[str, object]]:
    return [(kind, payload.get("event_action")) for kind, payload in planned]


def test_a_workflow_runs_on_an_event_it_lists_when_every_condition_holds() -> None:
    planned = plan_workflows("incident.opened", {}, "alertmanager", T0, incident(), [PAGE_PAYMENTS])
    [(kind, page)] = planned
    assert kind == ActionKind.PAGERDUTY_EVENT
    assert page == {"workflow": "w", "event_action": "trigger", "routing_key_env": "PD_KEY",
                    "dedup_key": "incident-bot-7-20261122T100000", "follow_up": False,
                    "summary": "[SEV1] Checkout <!channel> down (incident #7)", "source": "incident-bot",
                    "severity": "critical"}
    assert plan_workflows("incident.opened", {}, "a", T0, incident("sev3"), [PAGE_PAYMENTS]) == []
    assert plan_workflows("incident.opened", {}, "a", T0, incident(labels={"team": "search"}), [PAGE_PAYMENTS]) == []
    assert plan_workflows("status.changed", {}, "a", T0, incident(), [PAGE_PAYMENTS]) == []
    by_route = workflow(**{"if": {"route": ["other"]}})
    assert plan_workflows("incident.opened", {}, "a", T0, incident(), [by_route]) == []


def test_a_page_is_kept_in_step_whatever_the_conditions_say_now() -> None:
    lowered = incident("sev3")  # no longer matches the workflow's severities
    assert kinds(plan_workflows("commander.acknowledged", {}, "UALICE", T0, lowered, [PAGE_PAYMENTS])) == [
        (ActionKind.PAGERDUTY_EVENT, "acknowledge")]
    [(_, resolve)] = plan_workflows("incident.resolved", {}, "UALICE", T0, lowered, [PAGE_PAYMENTS])
    assert resolve["event_action"] == "resolve" and resolve["follow_up"] is True and "summary" not in resolve
    [(_, again)] = plan_workflows("incident.reopened", {}, "UALICE", T0, incident(), [PAGE_PAYMENTS])
    assert again["event_action"] == "trigger" and again["follow_up"] is True  # only if it was paged before
    reopen_pages = workflow(on=["incident.reopened"])
    [(_, fresh)] = plan_workflows("incident.reopened", {}, "UALICE", T0, incident(), [reopen_pages])
    assert fresh["follow_up"] is False


def test_two_workflows_paging_the_same_service_send_one_event() -> None:
    planned = plan_workflows("incident.resolved", {}, "U", T0, incident(), [PAGE_PAYMENTS, workflow(name="other")])
    assert kinds(planned) == [(ActionKind.PAGERDUTY_EVENT, "resolve")]


def test_every_action_kind_in_order_with_templates_rendered_inert_for_slack() -> None:
    everything = workflow(do=[
        {"grafana_annotation": {"tags": ["incident"], "dashboard_uid": "abc"}},
        {"webhook": {"url": "https://hooks.example.com/x", "secret_env": "HOOK"}},
        {"post": {"channel": "#leads", "text": "<https://x.example|{{ incident.title }}> is {{ incident.severity }}"}},
        {"invite": {"users": ["UCAROL"], "usergroup": "SLEADS"}},
    ])
    planned = plan_workflows("incident.opened", {"severity": "sev1"}, "alertmanager", T0, incident(), [everything])
    assert [kind for kind, _ in planned] == [ActionKind.GRAFANA_ANNOTATE, ActionKind.WEBHOOK_SEND,
                                            ActionKind.WORKFLOW_POST, ActionKind.WORKFLOW_INVITE]
    annotation, hook, post, invite = (payload for _, payload in planned)
    assert annotation["tags"] == ["incident", "incident-bot-7-20261122T100000"] and annotation["dashboard_uid"] == "abc"
    assert annotation["time"] == int(T0.timestamp() * 1000) and annotation["text"] == "[SEV1] Checkout <!channel> down"
    assert hook["event"] == {"kind": "incident.opened", "data": {"severity": "sev1"}, "actor": "alertmanager",
                             "occurred_at": T0.isoformat()}
    assert hook["url"] == "https://hooks.example.com/x" and hook["secret_env"] == "HOOK"  # the name, never the value
    assert post["text"] == "<https://x.example|Checkout &lt;!channel&gt; down> is sev1"
    assert invite == {"workflow": "w", "users": ["UCAROL"], "usergroup": "SLEADS"}
    [(kind, region)] = plan_workflows("incident.resolved", {}, "U", T0, incident(), [everything])
    assert kind == ActionKind.GRAFANA_REGION and region["time_end"] == int(T0.timestamp() * 1000)


def test_the_overdue_triggers_run_like_any_other_event() -> None:
    overdue = workflow(on=["followup.overdue", "postmortem.overdue"],
                       do=[{"post": {"channel": "#leads", "text": "{{ event.kind }}: {{ event.data.title }}"}}])
    [(_, post)] = plan_workflows("followup.overdue", {"title": "add an alert"}, "bot", T0, incident(), [overdue])
    assert post["text"] == "followup.overdue: add an alert"


def test_severity_maps_to_pagerduty_levels_most_severe_first() -> None:
    assert [pagerduty_severity(s, ("p1", "p2", "p3", "p4", "p5")) for s in ("p1", "p2", "p3", "p4", "p5", "x")] == [
        "critical", "error", "warning", "info", "info", "error"]
    assert dedup_key(1, T0) != dedup_key(1, T0.replace(minute=1))  # another database's incident #1
