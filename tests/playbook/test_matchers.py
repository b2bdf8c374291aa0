from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.playbook.matchers import Matcher, matches_all


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


_values = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=20)


@given(value=_values, op=st.sampled_from(["=", "!="]))
def test_str_then_parse_round_trips(value: str, op: str) -> None:
    matcher = Matcher("label", op, value)  # type: ignore[arg-type]
    assert Matcher.parse(str(matcher)) == matcher
