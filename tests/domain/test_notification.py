"""Parsing Alertmanager webhook payloads captured from the real Alertmanager 0.25."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.domain.notification import PayloadError, parse_webhook
from tests.conftest import FIXTURES

CAPTURED = FIXTURES / "alertmanager-0.25"


def _firing() -> dict:
    return json.loads((CAPTURED / "1-firing.json").read_text())


def test_captured_firing_group_parses_with_nanosecond_start_and_open_end() -> None:
    notification = parse_webhook((CAPTURED / "1-firing.json").read_bytes())
    assert notification.group_key == '{}/{team="payments"}:{alertname="HighErrorRate", service="checkout"}'
    assert [a.fingerprint for a in notification.alerts] == ["9b722ba78b610960", "fb1484307a3e8865"]
    first = notification.alerts[0]
    assert first.starts_at == datetime(2026, 11, 22, 22, 57, 48, 907557, tzinfo=UTC)
    assert first.ends_at is None  # Go's zero time means "not resolved"
    assert first.annotations["runbook_url"] == "https://runbooks.example.com/high-error-rate"


def test_partially_resolved_group_keeps_top_level_firing() -> None:
    notification = parse_webhook((CAPTURED / "2-one-resolved.json").read_bytes())
    assert notification.status == "firing"
    assert sorted(a.status for a in notification.alerts) == ["firing", "resolved"]
    resolved = next(a for a in notification.alerts if a.status == "resolved")
    assert resolved.ends_at is not None and resolved.ends_at >= resolved.starts_at


def test_newer_alertmanager_fields_are_accepted_and_ignored() -> None:
    body = {**_firing(), "notification_reason": "first notification", "routeLabels": {"team": "payments"}}
    assert len(parse_webhook(json.dumps(body)).alerts) == 2


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b.update(version="3"), 'version: must be "4"'),
        (lambda b: b.pop("alerts"), "alerts: is required"),
        (lambda b: b["alerts"][1].pop("fingerprint"), "alerts[1].fingerprint: is required"),
        (lambda b: b["alerts"][0].update(startsAt="yesterday"), "alerts[0].startsAt: must be an RFC 3339 timestamp"),
        (lambda b: b["alerts"][0].update(startsAt="2026-11-22T10:00:00"), "alerts[0].startsAt: must be an RFC 3339"),
        (lambda b: b["alerts"][0].update(startsAt="0001-01-01T00:00:00Z"), "alerts[0].startsAt: must be a real start"),
        (lambda b: b["alerts"][0].update(status="pending"), "alerts[0].status:"),
        (lambda b: b["alerts"][0]["labels"].update(team=7), "alerts[0].labels.team:"),
    ],
)
def test_invalid_payload_names_the_field(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    body = _firing()
    mutate(body)
    with pytest.raises(PayloadError) as caught:
        parse_webhook(json.dumps(body))
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(("body", "message"), [(b"not json", "body is not valid JSON"),
                                                (b"[1, 2]", "body must be a JSON object"),
                                                (b'"text"', "body must be a JSON object")])
def test_body_that_is_not_a_json_object_is_refused(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message) as caught:
        parse_webhook(body)
    assert caught.value.field == ""
