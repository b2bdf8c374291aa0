"""Alertmanager-style label matchers: ``team="payments"``, ``severity=~"critical|page"``.

Regular expressions are RE2, compiled and anchored as Alertmanager does
(see :mod:`bot.playbook.regex`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, cast

from bot.playbook.regex import AnchoredRegex

__all__ = ["MatchOp", "Matcher", "matches_all"]

MatchOp = Literal["=", "!=", "=~", "!~"]

_OPS: tuple[MatchOp, ...] = ("=", "!=", "=~", "!~")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# Longer operators first so "=~" is not read as "=" followed by a value starting with "~".
_SYNTAX = re.compile(
    r"\s*(?P<name>[^\s=!~\"]*)\s*(?P<op>=~|!~|!=|=)\s*(?P<value>.*?)\s*", re.DOTALL
)
_EXPECTED = 'expected a matcher like team="payments" (operators: =, !=, =~, !~)'
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


@dataclass(frozen=True)
class Matcher:
    """One label matcher with Alertmanager semantics.

    A label missing from the alert counts as the empty string, so ``foo!="bar"`` and
    ``foo=""`` both match an alert without ``foo``. Regular expressions use Go's RE2 syntax,
    like Alertmanager's (no backreferences or look-around), are fully anchored
    (``foo=~"a|b"`` means ``^(?:a|b)$``) and are compiled once, when the matcher is built.

    Raises:
        ValueError: on construction, for an invalid label name, operator or regex.
    """

    name: str
    op: MatchOp
    value: str
    _regex: AnchoredRegex | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _LABEL_NAME.fullmatch(self.name):
            raise ValueError(
                f"invalid label name {_q(self.name)}: expected letters, digits and _ "
                "(not starting with a digit)"
            )
        if self.op not in _OPS:
            raise ValueError(f"invalid operator {_q(self.op)}: expected one of =, !=, =~, !~")
        if self.op in ("=~", "!~"):
            object.__setattr__(self, "_regex", AnchoredRegex(self.value))

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """Parse ``name<op>value`` where value is ``"double quoted"`` or a bare word.

        Inside quotes, ``\\"`` is a quote, ``\\\\`` a backslash and ``\\n`` a newline; any
        other backslash is kept as written, so regexes like ``"api\\d+"`` need no doubling.
        An unquoted value may not contain spaces or quotes and may be empty (``foo=``).
        """
        syntax = _SYNTAX.fullmatch(text)
        if syntax is None:
            raise ValueError(f"{_EXPECTED}, got {_q(text)}")
        name, raw = syntax.group("name"), syntax.group("value")
        if not name:
            raise ValueError(f"missing label name: {_EXPECTED}, got {_q(text)}")
        if raw.startswith('"'):
            value = _unquote(raw)
        elif any(ch.isspace() or ch == '"' for ch in raw) or raw[:1] in ("=", "~"):
            raise ValueError(
                f"unquoted value {_q(raw)} is ambiguous or contains spaces or quotes; "
                f'quote it: {name}{syntax.group("op")}"..."'
            )
        else:
            value = raw
        return cls(name, cast("MatchOp", syntax.group("op")), value)

    @property
    def is_regex(self) -> bool:
        """True for ``=~`` and ``!~``."""
        return self._regex is not None

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether the label set satisfies this matcher (missing label = empty string)."""
        actual = labels.get(self.name, "")
        if self._regex is not None:
            found = self._regex.fullmatch(actual)
            return found if self.op == "=~" else not found
        return (actual == self.value) if self.op == "=" else (actual != self.value)

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.op}"{escaped}"'


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """True when every matcher matches; an empty list matches everything."""
    return all(matcher.matches(labels) for matcher in matchers)


def _unquote(raw: str) -> str:
    """Decode a double-quoted matcher value (including its quotes)."""
    out: list[str] = []
    i = 1
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            out.append(_ESCAPES.get(nxt, ch + nxt))
            i += 2
            continue
        if ch == '"':
            if i != len(raw) - 1:
                raise ValueError(
                    f"unexpected text after the closing quote in {raw}; "
                    'escape quotes inside the value as \\"'
                )
            return "".join(out)
        out.append(ch)
        i += 1
    raise ValueError(f"unterminated quoted value {raw}: expected a closing quote")


def _q(text: str) -> str:
    """Quote text for an error message, keeping it on one line."""
    return json.dumps(text, ensure_ascii=False)
