"""Durations (across a DST change, for a reopened incident), folding, the template
override, what is left out, and the small formatters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.postmortem import (
    AlertRecord,
    EventRecord,
    IncidentRecord,
    PostmortemTemplateError,
    human_duration,
    render_postmortem,
)
from bot.postmortem.text import code, quote
from tests.postmortem.scripted import COMMANDER, LEAD, RESPONDER, Log, at, fired, resolved, scripted

BERLIN = ZoneInfo("Europe/Berlin")


def incident(opened: datetime, **changes: object) -> IncidentRecord:
    values: dict[str, object] = {
        "id": 7, "title": "Disk full on db-1", "severity": "sev2", "status": "resolved", "source": "alertmanager",
        "playbook": "default", "route": "critical", "commander": COMMANDER, "declared_by": None,
        "channel_name": "inc-7-disk-full", "channel_id": "C07", "opened_at": opened, "acknowledged_at": None,
        "mitigated_at": None, "resolved_at": None, "roles": {}}
    values.update(changes)
    return IncidentRecord(**values)  # type: ignore[arg-type]


def alert(name: str, instance: str, start: datetime, end: datetime | None = None, fp: str | None = None,
          **annotations: str) -> AlertRecord:
    return AlertRecord(fp or f"{name}-{instance}", {"alertname": name, "instance": instance}, annotations, start, end,
                       "resolved" if end else "firing", None)


def section(markdown: str, title: str) -> str:
    start = markdown.index(f"## {title}\n")
    end = markdown.find("\n## ", start + 1)
    return markdown[start:end if end != -1 else None]


def timeline(markdown: str) -> list[str]:
    return [line for line in section(markdown, "Timeline").splitlines() if line.startswith("- ")]


# -- durations ----------------------------------------------------------------------------

def test_durations_across_the_berlin_spring_forward_are_plain_utc_differences() -> None:
    # Berlin goes from 02:00 CET to 03:00 CEST at 2026-03-29 01:00 UTC. The alert starts
    # 23:58 UTC the day before (00:58 CET), the incident opens 00:40 UTC (01:40 CET) and is
    # resolved 01:20 UTC (03:20 CEST): 40 minutes, though Berlin's clocks moved 1h 40m.
    start = datetime(2026, 3, 28, 23, 58, tzinfo=UTC)
    opened = datetime(2026, 3, 29, 0, 40, tzinfo=UTC)
    done = datetime(2026, 3, 29, 1, 20, tzinfo=UTC)
    disk = alert("DiskFull", "db-1", start, done)
    log = Log()
    log.add(opened, "incident.opened", "alertmanager", severity="sev2", route="default/critical")
    fired(log, disk, opened)
    log.add(datetime(2026, 3, 29, 0, 55, tzinfo=UTC), "commander.acknowledged", COMMANDER, commander=COMMANDER)
    log.add(datetime(2026, 3, 29, 1, 5, tzinfo=UTC), "status.changed", COMMANDER, **{"from": "investigating",
                                                                                    "to": "monitoring"})
    resolved(log, disk, done)
    log.add(done, "incident.resolved", COMMANDER, summary="cleaned up WAL")
    record = incident(opened, acknowledged_at=datetime(2026, 3, 29, 0, 55, tzinfo=UTC),
                      mitigated_at=datetime(2026, 3, 29, 1, 5, tzinfo=UTC), resolved_at=done)
    text = render_postmortem(record, log.events, [disk])

    durations = section(text, "Key durations")
    assert "**Time to detect:** 42m 00s (first alert started 2026-03-28 23:58:00," in durations
    assert "**Time to acknowledge:** 15m 00s" in durations
    assert "**Time to mitigate:** 25m 00s" in durations
    assert "**Time to resolve:** 40m 00s (resolved 2026-03-29 01:20:00)" in durations
    # The incident spans two UTC days, so every time carries its date.
    assert timeline(text) == [
        "- **2026-03-28 23:58:00** T+0s · Alert fired: `DiskFull db-1`",
        "- **2026-03-29 00:40:00** T+42m 00s · Incident opened by Alertmanager as **SEV2** (route `default/critical`)",
        "- **2026-03-29 00:55:00** T+57m 00s · <@U0AAA0001> acknowledged as commander",
        "- **2026-03-29 01:05:00** T+1h 07m · <@U0AAA0001> set the status Investigating → Monitoring",
        "- **2026-03-29 01:20:00** T+1h 22m · Alert resolved: `DiskFull db-1`",
        "- **2026-03-29 01:20:00** T+1h 22m · <@U0AAA0001> resolved the incident: cleaned up WAL",
    ]

    # The same instants given in Berlin time render the same bytes.
    def berlin(value: datetime | None) -> datetime | None:
        return value.astimezone(BERLIN) if value is not None else None

    local_events = [EventRecord(e.id, berlin(e.occurred_at), berlin(e.recorded_at),  # type: ignore[arg-type]
                                e.kind, e.actor, e.data) for e in log.events]
    local_record = incident(berlin(opened), acknowledged_at=berlin(record.acknowledged_at),
                            mitigated_at=berlin(record.mitigated_at), resolved_at=berlin(done))
    local_alert = alert("DiskFull", "db-1", berlin(start), berlin(done))  # type: ignore[arg-type]
    assert render_postmortem(local_record, local_events, [local_alert]) == text


def test_a_single_day_incident_shows_times_without_dates() -> None:
    opened = datetime(2026, 3, 29, 0, 40, tzinfo=UTC)
    log = Log()
    log.add(opened, "incident.opened", "alertmanager", severity="sev2")
    log.add(opened + timedelta(minutes=1), "note.added", COMMANDER, text="looking")
    rows = timeline(render_postmortem(incident(opened, status="investigating"), log.events, []))
    assert rows[0].startswith("- **00:40:00** T+0s · ")


def reopened_incident(final_status: str) -> tuple[IncidentRecord, list[EventRecord]]:
    opened = at(10, 0)
    log = Log()
    log.add(opened, "incident.opened", "alertmanager", severity="sev2")
    log.add(at(10, 30), "incident.resolved", COMMANDER, summary="restarted")
    log.add(at(10, 50), "incident.reopened", "alertmanager", resolved_at=at(10, 30).isoformat(),
            reopen_window="1:00:00")
    log.add(at(10, 55), "incident.resolved", LEAD, summary="restarted again")
    log.add(at(11, 5), "incident.reopened", LEAD, by=LEAD)
    if final_status == "resolved":
        log.add(at(11, 40), "incident.resolved", "bot", summary="all alerts stayed resolved", automatic=True)
    record = incident(opened, status=final_status, mitigated_at=at(10, 30),
                      resolved_at=at(11, 40) if final_status == "resolved" else None)
    return record, log.events


def test_a_reopened_incident_resolves_at_its_final_resolution_and_lists_each_interval() -> None:
    record, events = reopened_incident("resolved")
    text = render_postmortem(record, events, [])
    durations = section(text, "Key durations")
    assert ("**Time to resolve:** 1h 40m (finally resolved 11:40:00, after being reopened 2 times; "
            "open for 1h 10m in total)") in durations
    assert "**Time to mitigate:** 30m 00s (mitigated 10:30:00)" in durations
    assert [line for line in durations.splitlines() if line.startswith("- ") and "→" in line] == [
        "- Open 10:00:00 → 10:30:00 (30m 00s), resolved by <@U0AAA0001>",
        "- Resolved 10:30:00 → 10:50:00 (20m 00s), reopened by Alertmanager (an alert fired again)",
        "- Open 10:50:00 → 10:55:00 (5m 00s), resolved by <@U0CCC0003>",
        "- Resolved 10:55:00 → 11:05:00 (10m 00s), reopened by <@U0CCC0003>",
        "- Open 11:05:00 → 11:40:00 (35m 00s), resolved automatically",
    ]
    assert "resolved 1h 40m later after being reopened 2 times." in text


def test_a_reopened_incident_still_open_is_not_resolved() -> None:
    record, events = reopened_incident("investigating")
    durations = section(render_postmortem(record, events, []), "Key durations")
    assert "**Time to resolve:** not resolved" in durations
    assert "- Open since 11:05:00, not resolved" in durations


def test_an_incident_never_reopened_has_no_interval_list() -> None:
    incident_, events, alerts = scripted()
    assert "reopened" not in section(render_postmortem(incident_, events, alerts), "Key durations")


def test_acknowledgement_is_the_earliest_of_the_events_and_the_stored_time() -> None:
    opened = at(9, 0)
    log = Log()
    log.add(opened, "incident.opened", "alertmanager", severity="sev2")
    log.add(at(9, 4), "commander.escalated", "bot", **{"from": COMMANDER, "to": RESPONDER,
                                                       "reason": "not acknowledged", "timeout_seconds": 240.0})
    log.add(at(9, 7, 30), "commander.changed", LEAD, **{"from": RESPONDER, "to": LEAD})  # took command
    text = render_postmortem(incident(opened, status="investigating", acknowledged_at=at(9, 9)), log.events, [])
    assert "**Time to acknowledge:** 7m 30s (acknowledged 09:07:30 by <@U0CCC0003>)" in text
    assert "Command escalated from <@U0AAA0001> to <@U0BBB0002>: not acknowledged within 4m 00s" in text
    assert "**Time to detect:** n/a (no alert is attached to this incident)" in text
    assert "**Time to mitigate:** not mitigated" in text
    # Only the stored time known: it counts.
    text = render_postmortem(incident(opened, status="investigating", acknowledged_at=at(9, 9)), [], [])
    assert "**Time to acknowledge:** 9m 00s (acknowledged 09:09:00 by <@U0AAA0001>)" in text
    assert "**Time to acknowledge:** not acknowledged" in render_postmortem(incident(opened), [], [])


# -- folding ------------------------------------------------------------------------------

def test_a_500_alert_burst_folds_into_rows_and_human_events_stay_visible() -> None:
    opened = at(12, 1)
    start = at(12, 0)
    storm = [alert("NodeDown" if i % 5 else "KubeletDown", f"node-{i:03d}", start + timedelta(seconds=i * 0.4),
                   fp=f"{i:016x}") for i in range(500)]
    log = Log()
    log.add(opened, "incident.opened", "alertmanager", severity="sev1")
    for a in storm[:300]:
        fired(log, a, opened)
    note = log.add(start + timedelta(seconds=100), "note.added", COMMANDER, text="storm in cluster eu-1")
    for a in storm[300:]:
        fired(log, a, opened)
    log.add(at(12, 3), "command", COMMANDER, source="slash", text="note", allowed=True)  # hidden: no break
    text = render_postmortem(incident(opened, status="investigating"), log.events, storm)
    rows = timeline(text)
    # One alert every 0.4 s from 12:00:00. The opening at 60 s ends the first burst (150
    # alerts), the note at 100 s the second (101: the alert at 100.0 s has the lower id);
    # the last 249 follow the note. The hidden command changes nothing.
    assert len(rows) == 5, rows
    assert rows[0].startswith("- **12:00:00** T+0s · 150 alerts fired within 59s (`NodeDown` ×120, `KubeletDown` ×30): "
                              "`KubeletDown node-000`, `NodeDown node-001`, `NodeDown node-002`, `NodeDown node-003`, "
                              "`NodeDown node-004` and 145 more")
    assert rows[1].startswith("- **12:01:00** T+1m 00s · Incident opened by Alertmanager")
    assert rows[2].startswith("- **12:01:00** T+1m 00s · 101 alerts fired within 40s")
    assert rows[3] == "- **12:01:40** T+1m 40s · Note by <@U0AAA0001>:"
    assert rows[4].startswith("- **12:01:40** T+1m 40s · 249 alerts fired within 1m 39s")
    assert "and 244 more" in rows[4]
    assert note.data["text"] in section(text, "Timeline")
    assert sum(int(r.split(" · ")[1].split()[0]) for r in (rows[0], rows[2], rows[4])) == 500
    # The alert list is bounded too.
    alerts_section = section(text, "Alerts")
    assert "### `NodeDown` · 400 alerts (400 still firing)" in alerts_section
    assert "- … and 380 more, the last started 12:03:19" in alerts_section


def test_bursts_split_on_a_gap_over_60_seconds_and_fired_and_resolved_fold_separately() -> None:
    opened = at(8, 0)
    a1 = alert("A", "x", at(8, 0), at(8, 0, 30))
    a2 = alert("A", "y", at(8, 0, 20), at(8, 0, 50))
    a3 = alert("A", "z", at(8, 1, 21))  # 61 s after a2: a new burst
    log = Log()
    for a in (a1, a2, a3):
        fired(log, a, at(8, 2))
    for a in (a1, a2):
        resolved(log, a, at(8, 2))
    rows = timeline(render_postmortem(incident(opened, status="investigating"), log.events, [a1, a2, a3]))
    assert rows == [
        "- **08:00:00** T+0s · 2 alerts fired within 20s: `A x`, `A y`",
        "- **08:00:30** T+30s · 2 alerts resolved within 20s: `A x`, `A y`",
        "- **08:01:21** T+1m 21s · Alert fired: `A z`",
    ]


def test_storm_joins_and_channel_joins_fold() -> None:
    opened = at(8, 0)
    log = Log()
    log.add(opened, "incident.opened", "alertmanager", severity="sev1", storm=True)
    log.add(opened, "storm.started", "alertmanager", key="k", recent_opens=5, max_incidents=5, window="0:10:00")
    for i in range(3):
        log.add(at(8, 0, 10 + i), "storm.group_joined", "alertmanager", group_key=f"g{i}", alerts=4)
    for user in ("U0DDD0004", "U0EEE0005", "U0FFF0006"):
        log.add(at(8, 0, 30), "participant.joined", user, user=user)
    rows = timeline(render_postmortem(incident(opened, status="investigating", source="storm"), log.events, []))
    assert rows == [
        "- **08:00:00** T+0s · Storm incident opened by Alertmanager as **SEV1**",
        "- **08:00:00** T+0s · Storm guard tripped: 5 incidents within 10m 00s on this route; "
        "further alert groups join this incident",
        "- **08:00:10** T+10s · 3 alert groups joined the storm incident with 12 alerts within 2s",
        "- **08:00:30** T+30s · <@U0DDD0004>, <@U0EEE0005> and <@U0FFF0006> joined the channel",
    ]


# -- what is shown and how ------------------------------------------------------------------

def test_internal_events_are_left_out_but_their_actors_took_part() -> None:
    opened = at(9, 0)
    log = Log()
    log.add(opened, "incident.opened", "alertmanager", severity="sev2")
    log.add(at(9, 1), "command", "U0GGG0007", source="slash", text="timeline", allowed=True)
    log.add(at(9, 2), "update.reminded", "bot", due_at=at(9, 2).isoformat())
    log.add(at(9, 3), "slack.action_failed", "bot", action="message.post", error="not_in_channel",
            method="chat.postMessage", notice="SECRET-NOTICE")
    text = render_postmortem(incident(opened, status="investigating"), log.events, [])
    assert len(timeline(text)) == 1
    for hidden in ("command", "timeline", "reminded", "not_in_channel", "SECRET-NOTICE", "09:01:00", "09:02:00"):
        assert hidden not in section(text, "Timeline")
    assert "<@U0GGG0007>" in section(text, "Participants")


def test_participants_are_sorted_user_ids_only() -> None:
    opened = at(9, 0)
    log = Log()
    log.add(opened, "incident.opened", "U0ZZZ0009", severity="sev2", declared_by="U0ZZZ0009")
    log.add(at(9, 1), "participant.joined", "U0BBB0002", user="U0BBB0002")
    log.add(at(9, 2), "note.added", "U0AAA0001", text="x")
    log.add(at(9, 3), "alerts.all_resolved", "alertmanager")
    log.add(at(9, 4), "update.overdue", "bot", commander="U0ZZZ0009", backup=None)
    record = incident(opened, status="investigating", source="human", declared_by="U0ZZZ0009")
    text = render_postmortem(record, log.events, [])
    assert section(text, "Participants").strip().splitlines()[-1] == "<@U0AAA0001>, <@U0BBB0002>, <@U0ZZZ0009>"
    assert "declared by <@U0ZZZ0009>" in text
    assert "<@U0ZZZ0009> declared the incident as **SEV2**" in text
    assert "Stakeholder update overdue; reminded <@U0ZZZ0009>" in text


def test_slack_text_stays_inside_its_list_item() -> None:
    opened = at(9, 0)
    log = Log()
    log.add(opened, "note.added", COMMANDER, text="# not a heading\n\n- not a list\n## nor this\n```\ncode")
    log.add(at(9, 1), "update.posted", COMMANDER, text="next")
    rows = section(render_postmortem(incident(opened, status="investigating"), log.events, []), "Timeline")
    assert ("- **09:00:00** T+0s · Note by <@U0AAA0001>:\n  > # not a heading\n  >\n  > - not a list\n"
            "  > ## nor this\n  > ```\n  > code\n- **09:01:00** T+1m 00s · Stakeholder update by <@U0AAA0001>:\n"
            "  > next\n") in rows


def test_unknown_kinds_and_silences_are_shown_and_missing_data_is_tolerated() -> None:
    opened = at(9, 0)
    log = Log()
    log.add(at(9, 1), "silence.created", COMMANDER, id="abc-123", matchers=[
        {"name": "alertname", "value": "DiskFull", "isRegex": False, "isEqual": True}, 'job=~"db.*"'],
        ends_at="2026-03-12T11:00:00+00:00", comment="while we migrate")
    log.add(at(9, 2), "silence.created", COMMANDER)
    log.add(at(9, 2), "silence.created", COMMANDER, id="def-456", ends_at="2026-03-12T11:00:00+00:00", comment="",
            matchers={"job": "db", "alertname": "DiskFull"})
    log.add(at(9, 3), "silence.expired", "alertmanager", silence_id="abc-123")
    log.add(at(9, 4), "deploy.rolled_back", "U0AAA0001", version="3")
    log.add(at(9, 5), "severity.changed", "alertmanager", **{"from": "sev3", "to": "sev2",
                                                             "reason": "alert X joined", "automatic": True})
    log.add(at(9, 6), "message.pinned", LEAD, ts="1.2", author=LEAD, text="hi", permalink="javascript:alert(1)")
    log.add(at(9, 7), "message.unpinned", LEAD, ts="1.2", unpinned_by=LEAD)
    log.add(at(9, 8), "incident.opened", "alertmanager")  # no data at all
    log.add(at(9, 9), "status.changed", LEAD)
    rows = timeline(render_postmortem(incident(opened, status="investigating"), log.events, []))
    assert [r.split(" · ", 1)[1] for r in rows] == [
        '<@U0AAA0001> created silence `abc-123` for `alertname="DiskFull"`, `job=~"db.*"` until '
        "2026-03-12 11:00:00 UTC: while we migrate",
        "<@U0AAA0001> created silence",
        '<@U0AAA0001> created silence `def-456` for `alertname="DiskFull"`, `job="db"` until 2026-03-12 11:00:00 UTC',
        "Silence `abc-123` expired",
        "`deploy.rolled_back` by <@U0AAA0001>",
        "Severity changed automatically **SEV3** → **SEV2**: alert X joined",
        "Pinned message from <@U0CCC0003>:",  # an unsafe permalink is dropped
        "<@U0CCC0003> unpinned the message from <@U0CCC0003>",
        "Incident opened by Alertmanager as **?**",
        "<@U0CCC0003> set the status None → None",
    ]


def test_alert_links_default_and_from_links_for() -> None:
    opened = at(9, 0)
    a = AlertRecord("f1", {"alertname": "Up", "pod": "web-0"}, {"runbook_url": "https://rb.example/up (v2)"},
                    at(8, 59), None, "firing", "http://prom:9090/graph?g0.expr=up==0")
    text = render_postmortem(incident(opened, status="investigating"), [], [a])
    assert "Links: [Runbook](<https://rb.example/up (v2)>)" not in text  # whitespace in a URL: dropped
    assert "Links: [Prometheus](<http://prom:9090/graph?g0.expr=up==0>)" in text
    assert "- `web-0` · fired 08:59:00 · still firing" in text

    class Link:
        def __init__(self, title: str, url: str) -> None:
            self.title, self.url = title, url

    def links_for(alert: AlertRecord) -> list[object]:
        return [Link("Dashboard [eu]", f"https://grafana.example/{alert.labels['pod']}"),
                ("Logs", "https://logs.example/q?pod=web-0")]

    text = render_postmortem(incident(opened, status="investigating"), [], [a], links_for=links_for)
    assert ("Links: [Dashboard (eu)](<https://grafana.example/web-0>) · [Logs](<https://logs.example/q?pod=web-0>)"
            in text)


# -- the template -------------------------------------------------------------------------

def test_a_template_override_is_used() -> None:
    incident_, events, alerts = scripted()
    template = ("{{ incident.title }} ({{ incident.severity }})\n"
                "{% for row in timeline %}\n{{ row.time }} {{ row.text }}\n{% endfor %}\n"
                "{{ durations[3].name }}: {{ durations[3].value }}\n")
    text = render_postmortem(incident_, events, alerts, template=template)
    lines = text.splitlines()
    assert lines[0] == "Checkout API error rate above 5% (SEV1)"
    assert lines[1].startswith("14:02:10 4 alerts fired within 45s")
    assert lines[-1] == "Time to resolve: 43m 30s"
    assert text.endswith("43m 30s\n") and "## Timeline" not in text


def test_a_broken_template_is_reported_and_the_sandbox_holds() -> None:
    incident_, events, alerts = scripted()
    with pytest.raises(PostmortemTemplateError, match="line 2"):
        render_postmortem(incident_, events, alerts, template="ok\n{% for x in %}")
    with pytest.raises(PostmortemTemplateError, match="failed"):
        render_postmortem(incident_, events, alerts, template="{{ timeline.append(1) }}")
    # Internals are out of reach: they render as nothing.
    assert render_postmortem(incident_, events, alerts,
                             template="[{{ incident.__class__.__init__.__globals__ }}]") == "[]\n"



def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 3, 12, 9, 0)
    with pytest.raises(ValueError, match="naive"):
        render_postmortem(incident(naive), [], [])
    log = Log()
    log.add(naive, "note.added", COMMANDER, text="x")
    with pytest.raises(ValueError, match="event 1: occurred_at is a naive"):
        render_postmortem(incident(at(9, 0)), log.events, [])


def test_records_copy_rows_with_the_same_attribute_names() -> None:
    from types import SimpleNamespace

    row = SimpleNamespace(id=1, title="t", severity="sev1", status="resolved", source="human", playbook="p",
                          route="r", commander=None, declared_by="U0AAA0001", channel_name="c", channel_id=None,
                          opened_at=at(9, 0), acknowledged_at=None, mitigated_at=None, resolved_at=None, roles=None,
                          header_ts="1.2", policy={})
    assert IncidentRecord.from_row(row).roles == {}
    event = EventRecord.from_row(SimpleNamespace(id=3, occurred_at=at(9, 0), recorded_at=at(9, 0), kind="k",
                                                 actor="bot", data=None, incident_id=1))
    assert event.data == {}


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (0.9, "0s"), (42, "42s"), (60, "1m 00s"), (252, "4m 12s"), (3599, "59m 59s"), (3600, "1h 00m"),
    (3780, "1h 03m"), (86399, "23h 59m"), (86400, "1d 0h"), (2 * 86400 + 3 * 3600 + 59 * 60, "2d 3h"),
    (-90, "-1m 30s"),
])
def test_duration_format(seconds: float, text: str) -> None:
    assert human_duration(timedelta(seconds=seconds)) == text


def test_markdown_helpers() -> None:
    assert code("a`b") == "`` a`b ``"
    assert code("x\ny") == "`x y`"
    assert quote("a\r\n\r\nb  ") == "  > a\n  >\n  > b"


def test_links_from_the_routes_link_templates() -> None:
    from bot.domain.links import render_links
    from bot.playbook.schema import LinkTemplate, Route, SeverityRule

    route = Route(name="r", severity=SeverityRule(default="sev1"),
                  links=(LinkTemplate(title="Dashboard {{ labels.pod }}",
                                      url="https://grafana.example/d?pod={{ labels.pod }}", kind="dashboard"),))
    a = AlertRecord("f1", {"alertname": "Up", "pod": "web-0"}, {"runbook_url": "https://rb.example/up"},
                    at(8, 59), None, "firing", "http://prom:9090/graph?g0.expr=up")
    text = render_postmortem(incident(at(9, 0), status="investigating"), [], [a],
                             links_for=lambda alert: render_links(route, [alert]))
    assert ("Links: [Runbook](<https://rb.example/up>) · [Dashboard web-0](<https://grafana.example/d?pod=web-0>) · "
            "[Prometheus query](<http://prom:9090/graph?g0.expr=up>)") in text


def test_of_what_workflows_did_only_paging_is_in_the_timeline() -> None:
    opened = at(10, 0)
    log = Log()
    log.add(opened, "incident.opened", "alertmanager", severity="sev2")
    log.add(at(10, 1), "workflow.action", "bot", action="page", workflow="page-db", event_action="trigger",
            dedup_key="incident-bot-7")
    log.add(at(10, 1), "workflow.action", "bot", action="grafana_annotation", workflow="page-db", annotation_id=3)
    log.add(at(10, 1), "workflow.action", "bot", action="webhook", workflow="page-db", status=204)
    log.add(at(10, 5), "workflow.action", "bot", action="page", workflow="page-db", event_action="acknowledge",
            dedup_key="incident-bot-7")
    rows = timeline(render_postmortem(incident(opened, status="investigating"), log.events, []))
    assert [row.split(" · ", 1)[1] for row in rows[1:]] == [
        f"Paged in PagerDuty (workflow {code('page-db')})",
        f"Page acknowledged in PagerDuty (workflow {code('page-db')})"]
