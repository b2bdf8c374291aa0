from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.playbook.matchers import Matcher, MatchOp, matches_all


@pytest.mark.parametrize(
    ("text", "name", "op", "value"),
    [
        ('team="payments"', "team", "=", "payments"),
        ('team!="payments"', "team", "!=", "payments"),
        ('severity=~"critical|page"', "severity", "=~", "critical|page"),
        ('env!~"dev|staging"', "env", "!~", "dev|staging"),
        ("team=payments", "team", "=", "payments"),
        ("severity=~critical|page", "severity", "=~", "critical|page"),
        ('  team = "payments"  ', "team", "=", "payments"),
        ('foo=""', "foo", "=", ""),
        ("foo=", "foo", "=", ""),
        ('msg="say \\"hi\\""', "msg", "=", 'say "hi"'),
        ('path="C:\\\\dir"', "path", "=", "C:\\dir"),
        ('job=~"api\\d+"', "job", "=~", "api\\d+"),
        ('text="two words"', "text", "=", "two words"),
    ],
)
def test_parse_reads_name_operator_and_value(text: str, name: str, op: str, value: str) -> None:
    assert Matcher.parse(text) == Matcher(name, op, value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("team", "expected a matcher like"),
        ('="x"', "missing label name"),
        ('1team="x"', "invalid label name"),
        ('team="x', "unterminated quoted value"),
        ('team="x"y', "unexpected text after the closing quote"),
        ("team=two words", "quote it"),
        ("team==x", "quote it"),
        ('team=~"("', 'invalid regular expression "\\(": missing \\)'),
        ('team!~"[a-"', "invalid regular expression"),
    ],
)
def test_parse_rejects_malformed_matchers_naming_the_problem(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Matcher.parse(text)


def test_equality_matches_only_the_exact_value() -> None:
    matcher = Matcher.parse('team="payments"')
    assert matcher.matches({"team": "payments"})
    assert not matcher.matches({"team": "payments-eu"})
    assert not matcher.matches({})


def test_missing_label_counts_as_empty_string() -> None:
    assert Matcher.parse('foo!="bar"').matches({})
    assert Matcher.parse('foo=""').matches({})
    assert not Matcher.parse('foo=""').matches({"foo": "x"})
    assert Matcher.parse('foo=~".*"').matches({})
    assert not Matcher.parse('foo=~".+"').matches({})


def test_regex_is_fully_anchored() -> None:
    matcher = Matcher.parse('severity=~"critical|page"')
    assert matcher.matches({"severity": "critical"})
    assert matcher.matches({"severity": "page"})
    assert not matcher.matches({"severity": "noncritical"})
    assert not matcher.matches({"severity": "pager"})
    assert not matcher.matches({"severity": "critical\n"})


def test_negative_regex_inverts_the_anchored_match() -> None:
    matcher = Matcher.parse('env!~"dev|staging"')
    assert matcher.matches({"env": "production"})
    assert matcher.matches({"env": "development"})
    assert not matcher.matches({"env": "dev"})


def test_str_gives_canonical_text() -> None:
    assert str(Matcher.parse("team = payments")) == 'team="payments"'
    assert str(Matcher.parse('msg="a \\"b\\" \\\\ c"')) == 'msg="a \\"b\\" \\\\ c"'
    assert str(Matcher.parse("sev=~critical|page")) == 'sev=~"critical|page"'


def test_matches_all_requires_every_matcher_and_empty_matches_everything() -> None:
    matchers = [Matcher.parse('team="payments"'), Matcher.parse('severity=~"critical|page"')]
    assert matches_all(matchers, {"team": "payments", "severity": "page"})
    assert not matches_all(matchers, {"team": "payments", "severity": "warning"})
    assert matches_all([], {"anything": "at all"})


def test_constructor_validates_like_parse() -> None:
    with pytest.raises(ValueError, match="invalid operator"):
        Matcher("team", "==", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="invalid regular expression"):
        Matcher("team", "=~", "(")


# --- RE2, as Alertmanager compiles it -----------------------------------------------------

# Python's re accepts all of these; Go's regexp (so Alertmanager) and RE2 reject them.
ALERTMANAGER_REJECTS = [
    ("(a)\\1", "invalid escape sequence: \\1"),
    ("(?=x)", "invalid perl operator: (?="),
    ("(?!x)", "invalid perl operator: (?!"),
    ("(?<=x)y", "invalid perl operator: (?<="),
    ("(?<!x)y", "invalid perl operator: (?<!"),
    ("a++", "bad repetition operator: ++"),
    ("a*+", "bad repetition operator: *+"),
    ("\\Z", "invalid escape sequence: \\Z"),
    ("(?x)a b", "invalid perl operator: (?x"),
    ("(?#note)", "invalid perl operator: (?#"),
    ("(?P<n>a)(?P=n)", "invalid perl operator: (?P"),
    ("\\h", "invalid escape sequence: \\h"),
    ("a{1001}", "invalid repetition size: {1001}"),
    # RE2 itself accepts \C (any byte); Go does not.
    ("\\C", "invalid escape sequence: \\C (Go's regexp, which Alertmanager uses, does not support it)"),
    # Valid bare, but "^(?:\Qa)$" is not: the literal swallows the anchoring wrapper.
    ("\\Qa", "missing ): ^(?:\\Qa)$ (once anchored as ^(?:...)$)"),
    # Valid only inside the wrapper, where it would escape the anchors: rejected on purpose.
    ("a)|(b", "unexpected ): a)|(b"),
    ("\ud800", "not valid UTF-8 (it contains a lone surrogate)"),
]


@pytest.mark.parametrize(("pattern", "reason"), ALERTMANAGER_REJECTS)
@pytest.mark.parametrize("op", ["=~", "!~"])
def test_regex_alertmanager_rejects_is_rejected_naming_the_pattern(
        op: MatchOp, pattern: str, reason: str) -> None:
    quoted = json.dumps(pattern, ensure_ascii=False).encode("utf-8", "backslashreplace").decode()

    with pytest.raises(ValueError) as raised:
        Matcher("job", op, pattern)

    assert str(raised.value) == f"invalid regular expression {quoted}: {reason}"


def test_rejected_regex_is_reported_by_parse_too() -> None:
    with pytest.raises(ValueError, match=re.escape('invalid regular expression "(a)\\\\1"')):
        Matcher.parse('job=~"(a)\\1"')


@pytest.mark.parametrize(("pattern", "value", "expected"), [
    ("(?i)crit.*", "CRITICAL", True),
    ("(?i)crit.*", "warning", False),
    ("[[:alpha:]]+", "payments", True),
    ("[[:alpha:]]+", "payments2", False),
    ("[[:alpha:]]+", "äpfel", False),  # POSIX classes are ASCII, as in Go
    ("\\pL+", "äpfel", True),
    ("\\pL", "1", False),
    ("\\p{Greek}+", "αβγ", True),
    ("(?P<team>pay)ments", "payments", True),
    ("(?<team>pay)ments", "payments", True),  # Go 1.22+ syntax
    ("\\Q.*\\E", ".*", True),
    ("\\Q.*\\E", "anything", False),
    ("\\Q\\C\\E", "\\C", True),  # \C inside \Q...\E is literal text
    ("\\\\C", "\\C", True),
    ("a{,2}", "a{,2}", True),  # not a repetition in Go either: literal text
    ("x|", "", True),
    ("", "", True),
    ("", "x", False),
    ("\\x{1F600}", "😀", True),
    ("[^a]", "😀", True),  # one code point, not one byte
])
def test_re2_syntax_matches_as_in_alertmanager(pattern: str, value: str, expected: bool) -> None:
    assert Matcher("v", "=~", pattern).matches({"v": value}) is expected
    assert Matcher("v", "!~", pattern).matches({"v": value}) is not expected


@pytest.mark.parametrize(("pattern", "value", "expected"), [
    (".*", "a\nb", False),  # "." does not match a newline unless (?s)
    ("(?s).*", "a\nb", True),
    ("critical", "critical\n", False),  # "$" is the end of the value, not before a final \n
    ("(?m)critical$", "critical\n", False),  # (?m) stays inside the group; the anchor does not
    ("\\d+", "١٢", False),  # Perl classes are ASCII: Python's re matches these three
    ("\\w+", "héllo", False),
    ("\\s", "\v", False),
    ("\\s", "\t", True),
    ("(?i)k", "\u212a", True),  # KELVIN SIGN folds to k
    ("(?i)straße", "STRASSE", False),  # simple case folding only
])
def test_regex_semantics_are_gos(pattern: str, value: str, expected: bool) -> None:
    assert Matcher("v", "=~", pattern).matches({"v": value}) is expected


def test_regex_on_a_missing_label_matches_the_empty_string() -> None:
    assert Matcher.parse('team=~""').matches({})
    assert Matcher.parse('team=~"payments|"').matches({})
    assert not Matcher.parse('team=~"payments"').matches({})
    assert Matcher.parse('team!~"payments"').matches({})
    assert not Matcher.parse('team!~".*"').matches({})


def test_regex_is_anchored_at_both_ends() -> None:
    matcher = Matcher.parse('severity=~"crit"')
    assert matcher.matches({"severity": "crit"})
    for value in ("critical", "subcrit", "acrit", "crit "):
        assert not matcher.matches({"severity": value}), value
    assert not Matcher.parse('severity!~"crit"').matches({"severity": "crit"})
    assert Matcher.parse('severity!~"crit"').matches({"severity": "critical"})


def test_lone_surrogate_in_a_label_value_matches_as_the_replacement_character() -> None:
    # json.loads('"a\\ud800"') gives such a string; Go's JSON decoder gives U+FFFD.
    assert Matcher("v", "=~", "a.").matches({"v": "a\ud800"})
    assert Matcher("v", "=~", "a\ufffd").matches({"v": "a\ud800"})


_values = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=20)


@given(value=_values, op=st.sampled_from(["=", "!="]))
def test_str_then_parse_round_trips(value: str, op: str) -> None:
    matcher = Matcher("label", op, value)  # type: ignore[arg-type]
    assert Matcher.parse(str(matcher)) == matcher
