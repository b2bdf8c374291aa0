"""Regular expressions for label matchers, with Alertmanager's syntax and semantics.

Alertmanager compiles a matcher's value with Go's ``regexp`` package as
``regexp.Compile("^(?:" + value + ")$")`` and tests a label value with ``MatchString``.
Go's ``regexp`` implements RE2, so this module compiles the very same anchored string with
RE2 itself (the ``google-re2`` binding) and options set to Go's defaults:

* UTF-8 text; ``.`` does not match ``\\n`` and ``^``/``$`` match only at the ends of the
  value unless the pattern says ``(?s)`` or ``(?m)``;
* Perl classes ``\\d \\s \\w`` and ``\\b`` are ASCII-only, Unicode classes are ``\\pL``,
  ``\\p{Greek}``; ``(?i)`` folds case the Unicode way;
* no backreferences, look-around, possessive quantifiers, ``\\Z`` or ``(?x)``: RE2
  rejects them, as Alertmanager does.

Edge cases, settled as follows:

* ``\\C`` (any byte) is RE2-only; Go rejects it, so it is rejected here too.
* The value must also be a valid expression on its own, so ``a)|(b``, which Go accepts only
  because the wrapper closes its parentheses (and which then matches any value starting
  with ``a``), is rejected on purpose instead of silently escaping the anchors.
* ``(?<name>re)`` is accepted, as by Go 1.22 and later (older Go rejects it).
* Limits are RE2's: a pattern whose compiled form exceeds RE2's default 8 MiB budget (e.g.
  ``\\pL{1000}``) is rejected, and Go's nesting-depth limit (about 1000) is not checked.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import re2

__all__ = ["AnchoredRegex"]

# Go's regexp.Compile defaults (syntax.Perl), spelled out so a change of the binding's
# defaults cannot change what a playbook means. posix_syntax=False selects RE2's Perl mode
# (Perl classes, \b, non-greedy operators, \pN); perl_classes, word_boundary and one_line
# only apply in POSIX mode and stay off.
_GO_OPTIONS: dict[str, Any] = {
    "encoding": re2.Options.Encoding.UTF8,
    "posix_syntax": False,
    "longest_match": False,
    "literal": False,
    "never_nl": False,
    "dot_nl": False,
    "never_capture": False,
    "case_sensitive": True,
    "max_mem": 8 << 20,  # RE2's default budget per expression
    "log_errors": False,
}


class _Compiled(Protocol):
    """The part of a compiled ``re2`` expression this module uses."""

    def search(self, text: bytes) -> object | None: ...


class AnchoredRegex:
    """A label-value regex that must match the whole value, as Alertmanager's does.

    Raises:
        ValueError: on construction, naming the pattern, when Alertmanager would reject it.
    """

    __slots__ = ("_compiled", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._compiled = _compile(pattern)

    def fullmatch(self, text: str) -> bool:
        """Whether ``text`` as a whole matches the pattern."""
        return self._compiled.search(_utf8(text)) is not None

    def __repr__(self) -> str:
        return f"AnchoredRegex({self.pattern!r})"


def _compile(pattern: str) -> _Compiled:
    """Compile ``^(?:pattern)$`` as Alertmanager does; ValueError naming the pattern if invalid."""
    try:
        encoded = pattern.encode("utf-8")
    except UnicodeEncodeError:
        raise _invalid(pattern, "not valid UTF-8 (it contains a lone surrogate)") from None
    if _has_any_byte_escape(pattern):
        raise _invalid(pattern, "invalid escape sequence: \\C (Go's regexp, which "
                                "Alertmanager uses, does not support it)")
    try:
        # Compiled bare first, so error messages quote what the user wrote, not the wrapper.
        _re2_compile(encoded)
    except re2.error as exc:
        raise _invalid(pattern, _reason(exc)) from None
    try:
        return _re2_compile(b"^(?:" + encoded + b")$")
    except re2.error as exc:  # e.g. \Qa, whose literal text swallows the wrapper's )$
        raise _invalid(pattern, f"{_reason(exc)} (once anchored as ^(?:...)$)") from None


def _re2_compile(expression: bytes) -> _Compiled:
    """RE2-compile ``expression`` with Go's options; raises ``re2.error``."""
    options = re2.Options()
    for name, value in _GO_OPTIONS.items():
        setattr(options, name, value)
    compiled: _Compiled = re2.compile(expression, options)
    return compiled


def _has_any_byte_escape(pattern: str) -> bool:
    """Whether the pattern uses ``\\C`` outside a ``\\Q...\\E`` literal."""
    i = pattern.find("\\")
    while i != -1:
        escaped = pattern[i + 1 : i + 2]
        if escaped == "C":
            return True
        if escaped == "Q":
            end = pattern.find("\\E", i + 2)
            if end == -1:
                return False
            i = end  # the "\E" itself is skipped below
        i = pattern.find("\\", i + 2)
    return False


def _reason(exc: Exception) -> str:
    """RE2's error text (bytes in the binding's exception) as a string."""
    message = exc.args[0] if exc.args else exc
    if isinstance(message, bytes):
        return message.decode("utf-8", "replace")
    return str(message)


def _invalid(pattern: str, reason: str) -> ValueError:
    """The error for an invalid pattern, quoted so that even a lone surrogate prints."""
    quoted = json.dumps(pattern, ensure_ascii=False).encode("utf-8", "backslashreplace")
    return ValueError(f"invalid regular expression {quoted.decode()}: {reason}")


def _utf8(text: str) -> bytes:
    """``text`` as UTF-8; a lone surrogate (from a JSON ``"\\ud800"``) becomes U+FFFD, as
    Go's JSON decoder makes it, instead of failing the match."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        repaired = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return repaired.encode("utf-8")
