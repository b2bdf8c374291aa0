"""Secrets and personal data are redacted before text is recorded."""

from __future__ import annotations

import pytest

from bot.domain.redaction import redactor


@pytest.mark.parametrize(("text", "expected"), [
    ("ping jane.doe@example.com", "ping [redacted email]"),
    ("<mailto:jane@example.com|jane@example.com>", "<mailto:[redacted email]|[redacted email]>"),
    ("token xoxb-123456789012-abcdefABCDEF", "token [redacted slack token]"),
    ("curl -H 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc'", "curl -H 'Authorization: [redacted bearer token]'"),
    ("key AKIAABCDEFGHIJKLMNOP here", "key [redacted api key] here"),
    ("api_key=sup3rs3cr3tvalue", "[redacted api key]"),
    ("card 4111 1111 1111 1111 declined", "card [redacted card number] declined"),
    ("order 1234 5678 9012 3456 is not a card", "order 1234 5678 9012 3456 is not a card"),  # fails Luhn
    ("nothing secret in 10.0.0.12:8080", "nothing secret in 10.0.0.12:8080"),
])
def test_default_rules(text: str, expected: str) -> None:
    assert redactor().redact(text) == expected


def test_playbook_patterns_are_added_to_the_defaults() -> None:
    assert redactor(("CUST-[0-9]+",)).redact("customer CUST-991 mailed a@b.io") == \
        "customer [redacted pattern] mailed [redacted email]"
