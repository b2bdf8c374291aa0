"""The strict msgspec decoder and the pydantic reference give every body the same meaning:
the same notification, or the same error naming the same field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.domain import notification
from bot.domain.notification import AlertGroupNotification, PayloadError, parse_webhook, parse_webhook_reference
from tests.domain.webhook_strategies import encode, group_with, mutated_webhooks, noise, valid_webhooks
from tests.support.payloads import group


def meaning(parse: Any, body: bytes) -> AlertGroupNotification | str:
    try:
        return parse(body)  # type: ignore[no-any-return]
    except PayloadError as exc:
        return f"PayloadError: {exc}"


def assert_same_meaning(body: bytes) -> None:
    assert meaning(parse_webhook, body) == meaning(parse_webhook_reference, body)


# Timestamps where the two parsers could part: forms pydantic reads that Go never writes,
# fractions past microseconds, impossible dates and times, offsets at and past the edges.
EDGE_TIMESTAMPS = [
    "2026-11-22T22:57:48.907557036Z", "2026-11-22T22:57:48.9999999Z", "2026-11-22T22:57:48.123456789012Z",
    "2026-11-22T22:57:48z", "2026-11-22t22:57:48Z", "2026-11-22 22:57:48Z", "2026-11-22T22:57Z",
    "2026-11-22T22:57:48+0200", "2026-11-22T22:57:48+23:59", "2026-11-22T22:57:48+24:00", "2026-11-22T22:57:48-00:00",
    "2026-11-22T24:00:00Z", "2026-11-22T22:60:00Z", "2026-11-22T22:57:60Z", "2026-02-29T10:00:00Z",
    "2028-02-29T10:00:00Z", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59.999999999+23:59", "2026-11-22T22:57:48", "2026-11-22", "1764000000",
    "２０２６-11-22T22:57:48Z", "2026-11-22T22:57:48.Z", "2026-11-22T22:57:48Z\n", " 2026-11-22T22:57:48Z",
]
EDGE_FINGERPRINTS = ["abc123", "abc\n", "ABCdef0", "a" * 64, "a" * 65, "", "ab c", "é", "٣٤"]


@pytest.mark.parametrize("timestamp", EDGE_TIMESTAMPS)
@pytest.mark.parametrize("field", ["startsAt", "endsAt"])
def test_timestamps_mean_the_same_to_both(timestamp: str, field: str) -> None:
    assert_same_meaning(encode(group_with(("alerts", 1, field), timestamp)))


@pytest.mark.parametrize("fingerprint", EDGE_FINGERPRINTS)
def test_fingerprints_mean_the_same_to_both(fingerprint: str) -> None:
    assert_same_meaning(encode(group_with(("alerts", 0, "fingerprint"), fingerprint)))


@pytest.mark.parametrize("body", [
    # a repeated key: the last one counts, for both
    b'{"version": "4", "status": "firing", "status": "resolved", "groupKey": "k", "alerts": []}',
    b'{"version": "4", "status": "firing", "groupKey": "k", "alerts": [], "groupLabels": {"a": "1", "a": "2"}}',
    # numbers where Alertmanager writes strings, and the other way round
    b'{"version": 4, "status": "firing", "groupKey": "k", "alerts": []}',
    b'{"version": "4", "status": "firing", "groupKey": "k", "alerts": [], "truncatedAlerts": "3"}',
    b'{"version": "4", "status": "firing", "groupKey": "k", "alerts": [], "truncatedAlerts": 3.0}',
    b'{"version": "4", "status": "firing", "groupKey": "k", "alerts": [], "truncatedAlerts": true}',
    b'{"version": "4", "status": "firing", "groupKey": "k", "alerts": [], "truncatedAlerts": 99999999999999999999999}',
    b'{"version": "4", "status": "firing", "groupKey": "k", "alerts": [], "truncatedAlerts": -1}',
    # lengths counted in characters, not bytes
    ('{"version": "4", "status": "firing", "groupKey": "k", "alerts": [], "receiver": "%s"}' % ("é" * 200)).encode(),
    ('{"version": "4", "status": "firing", "groupKey": "k", "alerts": [], "receiver": "%s"}' % ("é" * 201)).encode(),
    # what is not a JSON object, or not JSON
    b'\xef\xbb\xbf{"version": "4"}', b'{"version": "4"} x', b'[]', b'"\\ud800"', b'{"a": "\xff"}',
    b'{"version": "4", "status": "firing", "groupKey": "k", "alerts": [], "receiver": "a\\u0000b"}',
])
def test_odd_bodies_mean_the_same_to_both(body: bytes) -> None:
    assert_same_meaning(body)


@settings(max_examples=300, deadline=None)
@given(valid_webhooks())
def test_valid_bodies_mean_the_same_to_both(payload: dict[str, Any]) -> None:
    assert_same_meaning(encode(payload))


@settings(max_examples=400, deadline=None)
@given(mutated_webhooks(), st.sampled_from(EDGE_TIMESTAMPS + EDGE_FINGERPRINTS))
@example(mutated=(group_with(("alerts", 0, "labels"), {}), None), odd="")  # type: ignore[arg-type]
def test_mutated_bodies_mean_the_same_to_both(mutated: tuple[dict[str, Any], object], odd: str) -> None:
    payload, _ = mutated
    assert_same_meaning(encode(payload))
    alerts = payload.get("alerts")
    if isinstance(alerts, list) and alerts and isinstance(alerts[0], dict):
        for field in ("startsAt", "endsAt", "fingerprint"):  # and with an odd time or fingerprint
            assert_same_meaning(encode({**payload, "alerts": [{**alerts[0], field: odd}, *alerts[1:]]}))


@settings(max_examples=200, deadline=None)
@given(noise)
def test_noise_means_the_same_to_both(body: bytes) -> None:
    assert_same_meaning(body)


def test_what_alertmanager_sends_takes_the_strict_decoder() -> None:
    """The fast path is the common one: a body as Alertmanager writes it (nanosecond times,
    Go's zero time for "not ended") never needs the reference."""
    payload = group(alerts=3)
    payload["alerts"][0]["startsAt"] = "2026-11-22T22:57:48.907557036Z"
    payload["alerts"][1]["endsAt"] = "0001-01-01T00:00:00Z"
    payload["alerts"][2]["startsAt"] = "2026-11-22T23:57:48.5+01:00"
    body = json.dumps(payload).encode()

    parsed = notification._decode_strictly(body)

    assert parsed is not None
    assert parsed == parse_webhook_reference(body)
    assert parsed.alerts[0].starts_at.microsecond == 907557  # truncated, as pydantic does, not rounded
    assert parsed.alerts[1].ends_at is None
    assert parsed.alerts[2].starts_at.isoformat() == "2026-11-22T22:57:48.500000+00:00"
