"""The pure decision: plain values in, a decision out; no database, no server."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.decide import GroupState, IncidentState, Outcome, StoredAlert, StormState, decide
from bot.domain.notification import Alert, AlertGroupNotification
from bot.playbook import PlaybookSet, load_playbooks
from tests.conftest import FIXTURES

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def playbooks() -> PlaybookSet:
    return load_playbooks(FIXTURES / "playbooks" / "decisions")


def alert(fp: str, *, severity: str = "critical", team: str = "payments", status: str = "firing",
          start: datetime = NOW - timedelta(minutes=3), end: datetime | None = None) -> Alert:
    return Alert(fingerprint=fp, status=status, labels={"alertname": "Errors", "team": team, "severity": severity},
                 annotations={}, starts_at=start, ends_at=end, generator_url=None)


def notification(*alerts: Alert, team: str = "payments") -> AlertGroupNotification:
    return AlertGroupNotification(
        group_key=f'{{}}:{{team="{team}"}}', receiver="bot", status="firing" if any(a.firing for a in alerts) else "resolved",
        group_labels={"team": team}, common_labels={"team": team, "alertname": "Errors"}, common_annotations={},
        external_url="", truncated_alerts=0, alerts=alerts,
    )


def stored(*alerts: Alert, status: str = "firing") -> dict[str, list[StoredAlert]]:
    known: dict[str, list[StoredAlert]] = {}
    for a in alerts:
        known.setdefault(a.fingerprint, []).append(StoredAlert(a.fingerprint, a.starts_at, status))
    return known


def open_incident(*firing: Alert, severity: str = "sev2", status: str = "investigating",
                  resolved_at: datetime | None = None) -> IncidentState:
    return IncidentState(id=7, status=status, severity=severity, playbook="team", route="payments",
                         resolved_at=resolved_at, reopen_window=timedelta(minutes=30),
                         firing=frozenset(a.identity for a in firing))


def test_new_critical_group_opens_with_the_rotation_commander(playbooks: PlaybookSet) -> None:
    decision = decide(notification(alert("a1"), alert("a2", severity="error")), GroupState(), playbooks, NOW)

    assert decision.outcome is Outcome.OPEN
    assert decision.route is not None and decision.route.key == ("team", "payments")
    assert decision.severity == "sev1"  # the most severe alert sets it
    assert (decision.commander, decision.commander_source) == ("UBOB", "rotation:payments")
    assert [e.kind for e in decision.events] == ["incident.opened", "commander.assigned", "alert.fired", "alert.fired"]
    assert decision.events[2].occurred_at == NOW - timedelta(minutes=3)  # the alert's own start time


def test_group_below_the_auto_declare_severity_is_only_recorded(playbooks: PlaybookSet) -> None:
    decision = decide(notification(alert("w1", severity="warning")), GroupState(), playbooks, NOW)

    assert decision.outcome is Outcome.RECORD
    assert decision.events == ()
    assert [a.fingerprint for a in decision.new_alerts] == ["w1"]


def test_unmatched_labels_fall_to_the_catch_all_and_are_recorded(playbooks: PlaybookSet) -> None:
    decision = decide(notification(alert("x1", team="search"), team="search"), GroupState(), playbooks, NOW)

    assert decision.outcome is Outcome.RECORD
    assert decision.route is not None and decision.route.key == ("team", "rest")


def test_static_owner_commands_when_the_route_names_one(playbooks: PlaybookSet) -> None:
    decision = decide(notification(alert("s1", team="storage"), team="storage"), GroupState(), playbooks, NOW)

    assert (decision.outcome, decision.commander, decision.commander_source) == (Outcome.OPEN, "USTORAGE", "static")


def test_same_alerts_again_are_a_duplicate(playbooks: PlaybookSet) -> None:
    first = alert("a1")
    state = GroupState(incident=open_incident(first), known=stored(first))

    decision = decide(notification(first), state, playbooks, NOW)

    assert decision.outcome is Outcome.DUPLICATE and decision.events == ()


def test_more_severe_alert_joining_raises_the_severity(playbooks: PlaybookSet) -> None:
    old = alert("a1", severity="error")
    state = GroupState(incident=open_incident(old, severity="sev2"), known=stored(old))

    decision = decide(notification(old, alert("a2", severity="critical")), state, playbooks, NOW)

    assert decision.outcome is Outcome.JOIN and decision.severity == "sev1"
    change = next(e for e in decision.events if e.kind == "severity.changed")
    assert change.data["from"] == "sev2" and change.data["to"] == "sev1" and change.data["automatic"]


def test_less_severe_alert_joining_never_lowers_the_severity(playbooks: PlaybookSet) -> None:
    old = alert("a1")
    state = GroupState(incident=open_incident(old, severity="sev1"), known=stored(old))

    decision = decide(notification(old, alert("a2", severity="warning")), state, playbooks, NOW)

    assert decision.severity == "sev1"
    assert "severity.changed" not in [e.kind for e in decision.events]


def test_last_alert_resolving_flags_the_incident_for_the_commander_but_keeps_it_open(playbooks: PlaybookSet) -> None:
    a1, a2 = alert("a1"), alert("a2")
    state = GroupState(incident=open_incident(a1), known={**stored(a1), **stored(a2, status="resolved")})
    resolved_at = NOW - timedelta(minutes=1)

    decision = decide(notification(alert("a1", status="resolved", end=resolved_at)), state, playbooks, NOW)

    assert decision.outcome is Outcome.JOIN
    assert [e.kind for e in decision.events] == ["alert.resolved", "alerts.all_resolved"]
    assert decision.events[0].occurred_at == resolved_at
    assert [a.fingerprint for a in decision.resolved_alerts] == ["a1"]


def test_one_of_two_alerts_resolving_does_not_flag_all_resolved(playbooks: PlaybookSet) -> None:
    a1, a2 = alert("a1"), alert("a2")
    state = GroupState(incident=open_incident(a1, a2), known=stored(a1, a2))

    decision = decide(notification(alert("a1", status="resolved", end=NOW), a2), state, playbooks, NOW)

    assert [e.kind for e in decision.events] == ["alert.resolved"]


def test_an_incident_with_more_firing_alerts_than_the_delivery_is_not_all_resolved(playbooks: PlaybookSet) -> None:
    # The caller counted more firing alerts than this delivery carries and did not load them.
    a1 = alert("a1")
    incident = replace(open_incident(), more_firing=True)
    state = GroupState(incident=incident, known=stored(a1))

    decision = decide(notification(alert("a1", status="resolved", end=NOW)), state, playbooks, NOW)

    assert [e.kind for e in decision.events] == ["alert.resolved"]


def test_late_firing_notification_for_a_resolved_alert_changes_nothing(playbooks: PlaybookSet) -> None:
    a1 = alert("a1")
    state = GroupState(incident=open_incident(), known=stored(a1, status="resolved"))

    assert decide(notification(a1), state, playbooks, NOW).outcome is Outcome.DUPLICATE


def test_resolved_alert_whose_start_moved_earlier_resolves_the_stored_alert(playbooks: PlaybookSet) -> None:
    # Alertmanager keeps the earliest startsAt when it merges re-sent alerts.
    stored_start = NOW - timedelta(minutes=3)
    a1 = alert("a1", start=stored_start)
    state = GroupState(incident=open_incident(a1), known=stored(a1))
    earlier = alert("a1", status="resolved", start=stored_start - timedelta(seconds=0.9), end=NOW)

    decision = decide(notification(earlier), state, playbooks, NOW)

    assert decision.new_alerts == []
    assert [a.identity for a in decision.resolved_alerts] == [("a1", stored_start)]


def test_new_activation_of_a_resolved_alert_is_a_new_alert(playbooks: PlaybookSet) -> None:
    old = alert("a1", start=NOW - timedelta(hours=2))
    state = GroupState(incident=open_incident(), known=stored(old, status="resolved"))

    decision = decide(notification(alert("a1", start=NOW - timedelta(minutes=1))), state, playbooks, NOW)

    assert decision.outcome is Outcome.JOIN and len(decision.new_alerts) == 1


def test_firing_again_within_the_reopen_window_reopens(playbooks: PlaybookSet) -> None:
    incident = open_incident(status="resolved", resolved_at=NOW - timedelta(minutes=29), severity="sev2")

    decision = decide(notification(alert("b1")), GroupState(incident=incident), playbooks, NOW)

    assert decision.outcome is Outcome.REOPEN
    assert decision.severity == "sev1"
    assert [e.kind for e in decision.events][:2] == ["incident.reopened", "alert.fired"]


def test_firing_again_after_the_reopen_window_opens_a_new_incident(playbooks: PlaybookSet) -> None:
    incident = open_incident(status="resolved", resolved_at=NOW - timedelta(minutes=31))

    decision = decide(notification(alert("b1")), GroupState(incident=incident), playbooks, NOW)

    assert decision.outcome is Outcome.OPEN


def test_resolution_arriving_after_the_incident_closed_stays_on_its_timeline(playbooks: PlaybookSet) -> None:
    a1 = alert("a1")
    incident = open_incident(status="resolved", resolved_at=NOW - timedelta(hours=2))
    state = GroupState(incident=incident, known=stored(a1))

    decision = decide(notification(alert("a1", status="resolved", end=NOW)), state, playbooks, NOW)

    assert decision.outcome is Outcome.RECORD
    assert [e.kind for e in decision.events] == ["alert.resolved"]


def test_decision_is_the_same_for_the_same_inputs(playbooks: PlaybookSet) -> None:
    group = notification(alert("a1"), alert("a2", severity="error"))

    assert decide(group, GroupState(), playbooks, NOW) == decide(group, GroupState(), playbooks, NOW)


def test_storm_guarded_open_asks_for_the_storm_state_under_its_key(playbooks: PlaybookSet) -> None:
    group = notification(alert("s1", team="storage"), team="storage")

    decision = decide(group, GroupState(), playbooks, NOW)

    assert decision.outcome is Outcome.OPEN and decision.storm_key == "team/storage|cluster="


def test_past_the_storm_limit_the_first_overflow_group_opens_a_storm_incident(playbooks: PlaybookSet) -> None:
    group = notification(alert("s1", team="storage"), team="storage")
    storm = StormState("team/storage|cluster=", recent_opens=2)

    decision = decide(group, GroupState(), playbooks, NOW, storm)

    assert decision.outcome is Outcome.OPEN and decision.storm
    assert [e.kind for e in decision.events][:3] == ["incident.opened", "storm.started", "commander.assigned"]


def test_past_the_storm_limit_later_groups_join_the_storm_incident(playbooks: PlaybookSet) -> None:
    group = notification(alert("s9", team="storage"), team="storage")
    storm_incident = IncidentState(id=99, status="investigating", severity="sev2", playbook="team", route="storage",
                                   resolved_at=None, reopen_window=timedelta(hours=1))
    storm = StormState("team/storage|cluster=", recent_opens=3, incident=storm_incident)

    decision = decide(group, GroupState(), playbooks, NOW, storm)

    assert decision.outcome is Outcome.JOIN and decision.target == storm_incident
    assert [e.kind for e in decision.events] == ["storm.group_joined", "alert.fired"]


def test_below_the_storm_limit_groups_open_their_own_incidents(playbooks: PlaybookSet) -> None:
    group = notification(alert("s1", team="storage"), team="storage")

    decision = decide(group, GroupState(), playbooks, NOW, StormState("team/storage|cluster=", recent_opens=1))

    assert decision.outcome is Outcome.OPEN and not decision.storm
