"""Redaction of secrets and personal data before text is recorded. Pure.

Applied when text enters the timeline (notes, updates, pinned messages), so the
database never holds the raw secret and no postmortem can leak it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]

    @property
    def replacement(self) -> str:
        return f"[redacted {self.name}]"


def _luhn_ok(digits: str) -> bool:
    total, parity = 0, len(digits) % 2
    for index, char in enumerate(digits):
        value = int(char)
        if index % 2 == parity:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("slack token", re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{8,}")),
    Rule("slack token", re.compile(r"\bxapp-[A-Za-z0-9-]{8,}")),
    Rule("bearer token", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}")),
    Rule("api key", re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")),
    Rule("api key", re.compile(r"\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{10,}\b")),
    Rule("api key", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b")),
    Rule("api key", re.compile(r"(?i)\b(?:api[_-]?key|secret|token|password|passwd)\s*[:=]\s*\S{6,}")),
    Rule("email", re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")),
)
_CARD = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")


class Redactor:
    """The default rules plus a playbook's own patterns."""

    def __init__(self, extra_patterns: Iterable[str] = ()) -> None:
        self.rules: Sequence[Rule] = (*DEFAULT_RULES,
                                      *(Rule("pattern", re.compile(p)) for p in extra_patterns))

    def redact(self, text: str) -> str:
        for rule in self.rules:
            text = rule.pattern.sub(rule.replacement, text)
        return _CARD.sub(_card, text)


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[redacted card number]" if 13 <= len(digits) <= 19 and _luhn_ok(digits) else match.group(0)


@lru_cache(maxsize=64)
def redactor(extra_patterns: tuple[str, ...] = ()) -> Redactor:
    """A shared redactor for a playbook's patterns (compiled once)."""
    return Redactor(extra_patterns)
