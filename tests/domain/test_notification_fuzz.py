"""Whatever arrives, parse_webhook gives a notification or a PayloadError naming the field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given, settings

from bot.domain.notification import AlertGroupNotification, PayloadError, parse_webhook
from tests.domain.webhook_strategies import (
    Mutation,
    encode,
    group_with,
    mutated_webhooks,
    noise,
    valid_webhooks,
)
from tests.support.payloads import group

FIELDS = {"version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels", "commonLabels",
          "commonAnnotations", "externalURL", "alerts"}


def outcome(body: bytes) -> AlertGroupNotification | PayloadError:
    """The parse result; any exception other than PayloadError fails the test."""
    try:
        return parse_webhook(body)
    except PayloadError as exc:
        return exc


def assert_clear(error: PayloadError) -> None:
    text = str(error)
    assert text and "\n" not in text and "Traceback" not in text
    if error.field:
        assert text.startswith(f"{error.field}: ")
        assert error.field.split("[")[0].split(".")[0] in FIELDS, text


@settings(max_examples=200, deadline=None)
@given(noise)
@example(b"\xff\xfe\x00")
@example(b"[" * 100_000)
@example(b'"\\ud800"')
def test_any_bytes_give_a_notification_or_a_clear_error(body: bytes) -> None:
    result = outcome(body)
    if isinstance(result, PayloadError):
        assert_clear(result)


@settings(max_examples=100, deadline=None)
@given(valid_webhooks())
def test_valid_bodies_parse_with_every_alert_in_utc(payload: dict[str, Any]) -> None:
    result = outcome(encode(payload))

    assert isinstance(result, AlertGroupNotification), result
    assert [a.fingerprint for a in result.alerts] == [a["fingerprint"] for a in payload["alerts"]]
    assert all(a.starts_at.utcoffset() is not None and a.starts_at.utcoffset().total_seconds() == 0
               for a in result.alerts)


def _mutated(path: tuple[str | int, ...], value: Any) -> tuple[dict[str, Any], Mutation]:
    return group_with(path, value), Mutation(path, "replace")


@settings(max_examples=200, deadline=None)
@given(mutated_webhooks())
# Found by this test: a time zone offset that moves the time out of datetime's range.
@example(_mutated(("alerts", 0, "startsAt"), "9999-12-31T23:59:59-01:00"))
@example(_mutated(("alerts", 1, "endsAt"), "9999-12-31T23:59:59-01:00"))
# PostgreSQL cannot store NUL in text or JSONB: refused here, naming the field, not a 503 later.
@example(_mutated(("alerts", 0, "labels", "service"), "a\u0000b"))
@example(_mutated(("receiver",), "r" * 201))
def test_one_wrong_field_is_named_in_the_error(mutated: tuple[dict[str, Any], Mutation]) -> None:
    payload, mutation = mutated
    result = outcome(encode(payload))

    if isinstance(result, PayloadError):
        assert_clear(result)
        # The error is about the field that was changed (or something inside it).
        assert result.field.startswith(mutation.field), (mutation, str(result))
        if mutation.kind == "drop":
            assert str(result) == f"{mutation.field}: is required"


@pytest.mark.parametrize(("path", "field"), [
    (("groupKey",), "groupKey"), (("receiver",), "receiver"), (("externalURL",), "externalURL"),
    (("commonLabels", "team"), "commonLabels.team"),
    (("alerts", 0, "annotations", "summary"), "alerts[0].annotations.summary"),
])
def test_nul_characters_are_refused_naming_the_field(path: tuple[str | int, ...], field: str) -> None:
    payload, _ = _mutated(path, "a\u0000b")

    result = outcome(json.dumps(payload).encode())

    assert isinstance(result, PayloadError) and result.field == field
    assert str(result) == f"{field}: must not contain NUL characters (\\u0000)"


def test_nul_character_in_a_label_name_is_refused_naming_the_label_set() -> None:
    payload = group(alerts=1)
    payload["alerts"][0]["labels"]["bad\u0000name"] = "x"

    result = outcome(json.dumps(payload).encode())

    assert isinstance(result, PayloadError)
    assert str(result) == 'alerts[0].labels["bad\\u0000name"]: must not contain NUL characters (\\u0000)'
