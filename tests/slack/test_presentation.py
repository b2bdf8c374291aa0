"""What incidents look like in Slack: header, links and change lines, as plain values."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.decide import Event
from bot.domain.links import Link
from bot.slack import blocks
from bot.slack.plan import change_text, plan_open

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def view(**overrides: object) -> blocks.IncidentView:
    values: dict[str, object] = {
        "id": 42, "title": "HighErrorRate in checkout", "severity": "sev1", "severity_rank": 0, "status": "investigating",
        "commander": "UALICE", "opened_at": NOW, "source": "alertmanager", "route": "default/critical",
        "firing": [blocks.AlertLine("HighErrorRate", f"10.0.0.{i}:8080", "5xx high") for i in range(13)],
    }
    values.update(overrides)
    return blocks.IncidentView(**values)  # type: ignore[arg-type]


def test_header_shows_severity_status_commander_start_and_capped_alerts() -> None:
    rendered = blocks.header_blocks(view())

    assert rendered[0] == {"type": "header", "text": {"type": "plain_text", "text": "SEV1 · HighErrorRate in checkout",
                                                      "emoji": True}}
    fields = [f["text"] for f in rendered[1]["fields"]]
    assert fields[0] == "*Severity*\n:red_circle: SEV1"
    assert fields[1] == "*Status*\nInvestigating"
    assert fields[2] == "*Commander*\n<@UALICE> (not yet acknowledged)"
    assert fields[3].startswith(f"*Started*\n<!date^{int(NOW.timestamp())}^")
    alerts = rendered[2]["text"]["text"]
    assert alerts.startswith("*Firing alerts (13)*\n• *HighErrorRate* 10.0.0.0:8080 — 5xx high")
    assert alerts.count("•") == blocks.MAX_HEADER_ALERTS and alerts.endswith("…and 3 more")
    buttons = [e["action_id"] for e in rendered[-1]["elements"]]
    assert buttons == [blocks.ACTION_ACK, blocks.ACTION_TAKE_COMMAND, blocks.ACTION_RAISE_SEVERITY,
                       blocks.ACTION_POST_UPDATE, blocks.ACTION_RESOLVE]


def test_acknowledged_header_drops_the_acknowledge_button_and_resolved_header_has_no_buttons() -> None:
    acknowledged = blocks.header_blocks(view(acknowledged=True))
    assert blocks.ACTION_ACK not in [e["action_id"] for e in acknowledged[-1]["elements"]]
    assert all(b["type"] != "actions" for b in blocks.header_blocks(view(status="resolved")))


def test_header_links_to_the_incident_page_open_or_resolved() -> None:
    page = "https://bot.example.com/ui/incidents/42"
    opened = blocks.header_blocks(view(page_url=page))[-1]["elements"]
    assert [e["action_id"] for e in opened] == [blocks.ACTION_ACK, blocks.ACTION_TAKE_COMMAND,
                                                blocks.ACTION_RAISE_SEVERITY, blocks.ACTION_POST_UPDATE,
                                                blocks.ACTION_RESOLVE, blocks.ACTION_OPEN_PAGE]
    assert opened[-1] == {"type": "button", "text": {"type": "plain_text", "text": "Open in browser"},
                          "action_id": blocks.ACTION_OPEN_PAGE, "value": "42", "url": page}
    resolved = blocks.header_blocks(view(status="resolved", page_url=page))
    assert [b for b in resolved if b["type"] == "actions"] == [
        {"type": "actions", "block_id": "incident:42", "elements": [opened[-1]]}]


def test_alert_text_cannot_inject_mentions_or_links() -> None:
    hostile = blocks.AlertLine("<!channel>", "<https://evil.example|click>", "a & b")
    text = blocks.header_blocks(view(firing=[hostile]))[2]["text"]["text"]

    assert "<!channel>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt;" in text and "a &amp; b" in text


def test_links_message_groups_runbook_first_and_escapes_titles() -> None:
    text = blocks.links_text([Link("Query", "http://prom/graph?g0.expr=x", "prometheus"),
                              Link("Runbook <x>", "https://runbooks/x", "runbook")])

    assert text.splitlines() == ["*Links*", "• <https://runbooks/x|Runbook &lt;x&gt;> (runbook)",
                                 "• <http://prom/graph?g0.expr=x|Query> (prometheus)"]


def test_opening_plans_channel_then_people_then_header_pin_links_and_bookmarks() -> None:
    links = [Link("Runbook", "https://runbooks/x", "runbook"), Link("Grafana", "https://grafana/d/x", "dashboard")]
    planned = plan_open("UALICE", ["UBOB", "UALICE"], links)

    assert [(a.kind, a.payload.get("user") or a.payload.get("link")) for a in planned] == [
        ("channel.create", None), ("channel.topic", None), ("channel.purpose", None),
        ("channel.invite", "UALICE"), ("channel.invite", "UBOB"), ("message.header", None),
        ("message.pin_header", None), ("message.post", None),
        ("bookmark.add", "https://runbooks/x"), ("bookmark.add", "https://grafana/d/x")]


def test_a_burst_of_changes_reads_as_one_message() -> None:
    fired = [Event("alert.fired", NOW, {"alertname": "Errors", "detail": f"pod-{i}"}) for i in range(7)]
    resolved = [Event("alert.resolved", NOW, {"alertname": "Errors", "detail": "pod-9"})]
    raised = [Event("severity.changed", NOW, {"from": "sev2", "to": "sev1", "reason": "alert Errors joined"})]

    text = change_text([*fired, *resolved, *raised], "UALICE")

    assert text is not None and text.splitlines() == [
        ":arrow_up: Severity raised SEV2 → SEV1 (alert Errors joined).",
        ":fire: 7 new alerts: Errors pod-0, Errors pod-1, Errors pod-2, Errors pod-3, Errors pod-4 and 2 more",
        ":white_check_mark: 1 resolved: Errors pod-9",
    ]


def test_all_resolved_prompts_the_commander_by_name() -> None:
    text = change_text([Event("alerts.all_resolved", NOW, {})], "UALICE")
    assert text == ":tada: All alerts have resolved. <@UALICE>, type `/incident resolve` once you are sure it is over."
