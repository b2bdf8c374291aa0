"""Matcher against the real Alertmanager: ``amtool`` (Debian package prometheus-alertmanager)
accepts exactly the regexes Matcher accepts, and routes label values the way Matcher matches."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.playbook.matchers import Matcher, MatchOp
from tests.support.integration import unavailable

pytestmark = pytest.mark.integration

PATTERNS = [
    # Rejected by Go's regexp, though Python's re takes most of them.
    "(a)\\1", "(?=x)", "(?!x)", "(?<=x)y", "(?<!x)y", "a++", "a*+", "x{2}+", "\\Z", "(?x)a b",
    "(?#note)", "(?P=n)", "(?a)a", "\\h", "\\e", "\\u0041", "\\cA", "\\8", "\\C", "[\\C]", "\\Qa",
    "(", ")", "[a-", "[z-a]", "[[:foo:]]", "\\p{IsLatin}", "*", "a**", "a{2}{3}", "a{1001}",
    "x{2,1}", "(a{1000}){1000}", "[\\Q]\\E]", "\\E", "\\x{110000}",
    # Accepted by Go's regexp.
    "", "|", "crit", "critical|page", "(?i)crit.*", "[[:alpha:]]+", "[[:word:]]", "\\pL", "\\PL",
    "\\p{Greek}", "\\p{^Greek}", "\\pN+", "(?P<name>a)", "\\z", "\\A", "\\b", "(?s).", "(?m)^a$",
    "(?U)a*", "(?i-s:a)", "(?)", "a{,3}", "a{1000}", "\\0", "\\01", "\\x41", "\\x{41}",
    "\\a\\f\\t\\n\\r\\v", "\\Q\\C\\E", "\\\\C", "\\Qa\\E\\d", "[]a]", "[^]a]", "[\\d-z]", "é+",
    "x*?", "x{2}?", "\\_", "\\-", "\\ ", "\\#", "\\@",
]
# Not compared: "(?<name>a)" is accepted from Go 1.22 on (RE2 accepts it) but not by the
# Debian amtool built with Go 1.19; and Matcher rejects "a)|(b" on purpose (see below).


def _amtool() -> str:
    found = shutil.which("amtool")
    if found is None:
        unavailable("amtool is not installed (Debian package prometheus-alertmanager)")
    assert found is not None
    return found


def _quoted(name: str, op: str, value: str) -> str:
    """A matcher in Alertmanager's syntax; the same escaping as ``str(Matcher)``."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'{name}{op}"{escaped}"'


def _write_config(path: Path, routes: list[dict[str, Any]]) -> Path:
    receivers = [{"name": "none"}, *({"name": route["receiver"]} for route in routes)]
    config = {"route": {"receiver": "none", "routes": routes}, "receivers": receivers}
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def _amtool_accepts(tmp_path: Path, patterns: list[str]) -> list[bool]:
    """For each pattern, whether ``amtool check-config`` takes a route matcher using it."""
    files = [
        _write_config(tmp_path / f"{i:03}.yml", [{"receiver": "hit", "matchers": [_quoted("x", "=~", p)]}])
        for i, p in enumerate(patterns)
    ]
    result = subprocess.run([_amtool(), "check-config", *map(str, files)],
                            capture_output=True, text=True, timeout=60, check=False)
    verdicts = dict(re.findall(r"^Checking '(.+?)'\s+(SUCCESS|FAILED)", result.stdout, re.MULTILINE))
    assert len(verdicts) == len(files), result.stdout + result.stderr
    return [verdicts[str(file)] == "SUCCESS" for file in files]


def _matcher_accepts(pattern: str) -> bool:
    try:
        Matcher("x", "=~", pattern)
    except ValueError:
        return False
    return True


def test_amtool_accepts_exactly_the_regexes_matcher_accepts(tmp_path: Path) -> None:
    amtool = dict(zip(PATTERNS, _amtool_accepts(tmp_path, PATTERNS), strict=True))

    ours = {pattern: _matcher_accepts(pattern) for pattern in PATTERNS}

    differences = {p: {"amtool": amtool[p], "Matcher": ours[p]} for p in PATTERNS if amtool[p] != ours[p]}
    assert not differences
    assert any(ours.values()) and not all(ours.values())


def test_matcher_rejects_a_regex_that_only_the_anchoring_wrapper_makes_valid(tmp_path: Path) -> None:
    # Alertmanager compiles "^(?:a)|(b)$", which matches any value starting with "a".
    assert _amtool_accepts(tmp_path, ["a)|(b"]) == [True]
    assert not _matcher_accepts("a)|(b")


# (op, pattern, label value or None for a missing label)
MATCH_CASES: list[tuple[MatchOp, str, str | None]] = [
    ("=~", "crit", "critical"), ("=~", "crit", "crit"), ("=~", "critical|page", "pager"),
    ("=~", ".*", "a\nb"), ("=~", "(?s).*", "a\nb"), ("=~", "critical", "critical\n"),
    ("=~", "(?m)critical$", "critical\n"), ("=~", "\\d+", "١٢"), ("=~", "\\d+", "12"),
    ("=~", "\\w+", "héllo"), ("=~", "\\pL+", "héllo"), ("=~", "\\s", "\v"), ("=~", "\\s", "\t"),
    ("=~", "(?i)crit.*", "CRITICAL"), ("=~", "(?i)k", "\u212a"), ("=~", "(?i)straße", "STRASSE"),
    ("=~", "[[:alpha:]]+", "abc"), ("=~", "[[:alpha:]]+", "äbc"), ("=~", "\\bfoo\\b", "foo"),
    ("=~", "a.c", "aéc"), ("=~", "[^a]", "😀"), ("=~", ".", "\u2028"), ("=~", "\\Q.*\\E", ".*"),
    ("=~", "\\Q.*\\E", "ab"), ("=~", "a{,2}", "a{,2}"), ("=~", "x|", "x"), ("=~", "(?U)a+", "aaa"),
    ("=~", "", None), ("=~", ".+", None), ("=~", "payments|", None), ("!~", "payments", None),
    ("!~", ".*", None), ("!~", "dev|staging", "development"), ("!~", "dev|staging", "dev"),
    ("=~", "say \"hi\"", 'say "hi"'), ("=~", "C:\\\\dir", "C:\\dir"),
]


def test_amtool_routes_label_values_the_way_matcher_matches_them(tmp_path: Path) -> None:
    # One route per case, each on its own label, all with continue: amtool prints every hit.
    routes = [{"receiver": f"r{i}", "matchers": [_quoted(f"v{i}", op, pattern)], "continue": True}
              for i, (op, pattern, _) in enumerate(MATCH_CASES)]
    config = _write_config(tmp_path / "routes.yml", routes)
    labels = [_quoted(f"v{i}", "=", value) for i, (_, _, value) in enumerate(MATCH_CASES) if value is not None]

    result = subprocess.run([_amtool(), "config", "routes", "test", f"--config.file={config}", *labels],
                            capture_output=True, text=True, timeout=60, check=True)

    hits = set(result.stdout.strip().split(",")) - {"none"}  # "none": the root, when nothing matched
    expected = {f"r{i}" for i, (op, pattern, value) in enumerate(MATCH_CASES)
                if Matcher(f"v{i}", op, pattern).matches({} if value is None else {f"v{i}": value})}
    differences = [(MATCH_CASES[int(r[1:])], f"amtool: {r in hits}") for r in sorted(hits ^ expected)]
    assert not differences
    assert expected and len(expected) < len(MATCH_CASES)
