"""Incident transitions over an IncidentChange, without a database: resolving by hand and
automatically is one transition, so both leave the same shape of events and announcements."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain.kinds import ActionKind, EventKind
from bot.incident import timer_schedule, transitions
from bot.incident.change import IncidentChange
from bot.incident.postmortem_tracking import KeepPostmortem
from storage.rows import IncidentRow

OPENED = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
NOW = OPENED + timedelta(hours=1)
POLICY: dict[str, Any] = {
    "severities": [{"name": "sev2", "update_every_seconds": 1800.0, "ack_timeout_seconds": 300.0,
                    "stakeholder_channels": ["#status", "#exec"]}],
    "rotation": {"name": "primary", "users": ["UALICE", "UBOB"]},
    "archive_after_seconds": 86400.0,
}


def incident(**changes: Any) -> IncidentRow:
    row = IncidentRow(
        id=7, title="Checkout errors", status="investigating", severity="sev2", playbook="incidents",
        route="checkout", source="alertmanager", declared_by=None, commander="UALICE", channel_name="inc-7",
        channel_id="C7", header_ts="1.0", roles={}, storm_key=None, policy=POLICY, opened_at=OPENED,
        acknowledged_at=OPENED, mitigated_at=None, resolved_at=None, all_alerts_resolved_at=OPENED,
        updated_at=OPENED)
    return replace(row, **changes)


def resolved_by_hand() -> IncidentChange:
    change = IncidentChange(incident(), "UALICE", NOW)
    transitions.resolve(change, "rolled back the deploy")
    return change


def resolved_automatically() -> IncidentChange:
    change = IncidentChange(incident(), "bot", NOW)
    transitions.resolve(change, transitions.AUTO_RESOLVE_SUMMARY, automatic=True)
    return change


def test_manual_and_automatic_resolve_leave_the_same_shape() -> None:
    for change in (resolved_by_hand(), resolved_automatically()):
        assert (change.incident.status, change.incident.resolved_at, change.incident.mitigated_at) == \
            ("resolved", NOW, NOW)
        assert [kind for kind, _ in change.events] == [EventKind.INCIDENT_RESOLVED]
        assert [kind for kind, _ in change.actions] == [
            ActionKind.MESSAGE_POST, ActionKind.MESSAGE_POST_TO, ActionKind.MESSAGE_POST_TO,
            ActionKind.CHANNEL_TOPIC, ActionKind.MESSAGE_UPDATE_HEADER]
        here, *elsewhere = [payload for _, payload in change.actions[:3]]
        assert [p["channel"] for p in elsewhere] == ["#status", "#exec"]
        assert all(p["text"] == here["text"] for p in elsewhere)  # one final update, everywhere
        assert str(here["text"]).startswith(":loudspeaker: *Final update on incident #7: Checkout errors*\n"
                                            "SEV2 · Resolved · commander <@UALICE>\n")
        assert change.timer_keeping == (timer_schedule.on_resolved, KeepPostmortem("resolved"))


def test_what_differs_is_who_resolved_and_why() -> None:
    manual, automatic = resolved_by_hand(), resolved_automatically()
    assert manual.events[0][1] == {"summary": "rolled back the deploy"}
    assert automatic.events[0][1] == {"summary": "all alerts stayed resolved", "automatic": True}
    assert str(manual.actions[0][1]["text"]).endswith("\nResolved. rolled back the deploy\n_— <@UALICE>_")
    assert str(automatic.actions[0][1]["text"]).endswith(
        "\nResolved automatically: every alert stayed resolved for the quiet period.\n_— incident-bot_")


def test_resolve_keeps_an_earlier_mitigation_time() -> None:
    mitigated = OPENED + timedelta(minutes=20)
    change = IncidentChange(incident(mitigated_at=mitigated), "UALICE", NOW)
    transitions.resolve(change, "")
    assert change.incident.mitigated_at == mitigated
    assert str(change.actions[0][1]["text"]).endswith("\nResolved.\n_— <@UALICE>_")


def test_later_checks_in_one_change_see_the_new_state() -> None:
    change = IncidentChange(incident(acknowledged_at=None), "UALICE", NOW)
    transitions.acknowledge(change)
    transitions.change_severity(change, "sev1", "customers affected")
    assert (change.incident.acknowledged_at, change.incident.severity) == (NOW, "sev1")
    assert [kind for kind, _ in change.events] == [EventKind.COMMANDER_ACKNOWLEDGED, EventKind.SEVERITY_CHANGED]
    assert change.timer_keeping == (timer_schedule.on_acknowledged, timer_schedule.on_severity_changed)


def test_a_person_and_an_alert_raise_the_severity_through_one_transition() -> None:
    by_hand = IncidentChange(incident(), "UALICE", NOW)
    transitions.change_severity(by_hand, "sev1", "customers affected")
    by_alert = IncidentChange(incident(), "alertmanager", NOW)
    transitions.change_severity(by_alert, "sev1", "alert HighErrorRate joined", automatic=True,
                                announcement=transitions.Announcement.IN_BATCH)
    for change in (by_hand, by_alert):
        assert change.incident.severity == "sev1"
        assert change.timer_keeping == (timer_schedule.on_severity_changed,)
    assert by_hand.events == ((EventKind.SEVERITY_CHANGED, {"from": "sev2", "to": "sev1",
                                                            "reason": "customers affected", "automatic": False}),)
    assert by_alert.events == ((EventKind.SEVERITY_CHANGED, {"from": "sev2", "to": "sev1",
                                                             "reason": "alert HighErrorRate joined", "automatic": True}),)
    assert by_hand.actions == (
        (ActionKind.MESSAGE_POST, {"text": ":rotating_light: <@UALICE> changed severity SEV2 → SEV1: customers affected",
                                   "purpose": "command"}),
        (ActionKind.CHANNEL_TOPIC, {}), (ActionKind.MESSAGE_UPDATE_HEADER, {}))
    # The delivery's one "changes" message says it; the topic and the header still follow.
    assert by_alert.actions == ((ActionKind.CHANNEL_TOPIC, {}), (ActionKind.MESSAGE_UPDATE_HEADER, {}))


def test_a_person_and_an_alert_reopen_through_one_transition_that_leaves_the_alert_state_alone() -> None:
    resolved = incident(status="resolved", resolved_at=OPENED + timedelta(minutes=30), all_alerts_resolved_at=OPENED)
    by_hand = IncidentChange(resolved, "UALICE", NOW)
    transitions.reopen(by_hand)
    by_alert = IncidentChange(resolved, "alertmanager", NOW)
    cause = {"resolved_at": resolved.resolved_at.isoformat() if resolved.resolved_at else None,
             "reopen_window": "1:00:00"}
    transitions.reopen(by_alert, cause=cause, announcement=transitions.Announcement.IN_BATCH)
    for change in (by_hand, by_alert):
        assert (change.incident.status, change.incident.resolved_at) == ("investigating", None)
        assert change.incident.all_alerts_resolved_at == OPENED  # reopening changes no alert
        assert change.timer_keeping == (timer_schedule.on_reopened, KeepPostmortem("reopened"))
    assert by_hand.events == ((EventKind.INCIDENT_REOPENED, {"by": "UALICE"}),)
    assert by_alert.events == ((EventKind.INCIDENT_REOPENED, cause),)
    assert by_hand.actions[0] == (ActionKind.MESSAGE_POST, {"text": ":recycle: <@UALICE> reopened the incident.",
                                                            "purpose": "command"})
    assert by_alert.actions == ((ActionKind.CHANNEL_TOPIC, {}), (ActionKind.MESSAGE_UPDATE_HEADER, {}))

    transitions.alerts_fired_again(by_alert)  # what the alert that reopened it does
    assert by_alert.incident.all_alerts_resolved_at is None
    assert by_alert.timer_keeping == (timer_schedule.on_reopened, KeepPostmortem("reopened"),
                                      timer_schedule.on_alerts_fired)


def test_all_alerts_resolved_starts_the_quiet_period_when_the_bot_learns_of_it() -> None:
    change = IncidentChange(incident(all_alerts_resolved_at=None), "alertmanager", NOW)
    transitions.alerts_all_resolved(change, {"prompt_commander": True}, NOW - timedelta(minutes=3))
    assert change.incident.all_alerts_resolved_at == NOW
    assert change.events == ((EventKind.ALERTS_ALL_RESOLVED, {"prompt_commander": True}),)
    assert change.timer_keeping == (timer_schedule.on_alerts_all_resolved,)
