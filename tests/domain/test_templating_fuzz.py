"""Channel names and titles from any labels and templates: always something Slack accepts."""

from __future__ import annotations

import re
from datetime import date

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.domain.naming import TITLE_MAX, UNTITLED, channel_name, render_title
from bot.playbook import DEFAULT_CHANNEL_TEMPLATE, DEFAULT_TITLE_TEMPLATE

# Slack: lowercase letters, digits, hyphens and underscores, 1 to 80 characters.
SLACK_CHANNEL_NAME = re.compile(r"[a-z0-9_-]{1,80}")

label_text = st.text(st.characters(codec="utf-8"), max_size=60) | st.sampled_from(
    ["", "{{ 7 * 7 }}", "{% raw %}", "<!channel>", "İstanbul", "ß" * 90, "ﬃ" * 30, "\u202e", "-_-", "Ａ１"])
labels = st.dictionaries(st.sampled_from(["alertname", "service", "team", "cluster", "x"]), label_text, max_size=5)
pieces = st.sampled_from(["inc-", "{{ date }}", "{{ number }}", "{{ slug }}", "{{ title }}", "{{ labels.service }}",
                          "{{ labels.team | upper }}", "{{ labels.missing.deeper }}", "-", "_", " ", "/", "INC",
                          "{{ labels.alertname | slugify }}", "{{ title ~ title }}", "{{ slug * 3 }}"])
templates = st.one_of(
    st.just(DEFAULT_CHANNEL_TEMPLATE),
    st.lists(pieces, min_size=1, max_size=6).map("".join),
    st.text(max_size=30),  # mostly literal text, sometimes broken Jinja: falls back to inc-<number>
)
numbers = st.integers(min_value=1, max_value=2**63 - 1)  # incident ids are BIGINT


@settings(max_examples=300, deadline=None)
@given(templates, labels, st.text(st.characters(codec="utf-8"), max_size=200), numbers, st.dates())
@example("{{ labels.x }}", {"x": "-" * 100}, "", 7, date(2026, 1, 1))
@example("x" * 79 + "{{ number }}", {}, "t", 123, date(2026, 1, 1))
def test_any_labels_and_template_give_a_valid_slack_channel_name(
        template: str, label_set: dict[str, str], title: str, number: int, day: date) -> None:
    name = channel_name(template, date=day, number=number, title=title, labels=label_set)

    assert SLACK_CHANNEL_NAME.fullmatch(name), name
    assert name[0] not in "-_" and name[-1] not in "-_"


@settings(max_examples=150, deadline=None)
@given(st.text(st.characters(codec="utf-8"), max_size=300), numbers, st.dates())
def test_default_template_keeps_date_and_number_and_shortens_only_the_slug(
        title: str, number: int, day: date) -> None:
    name = channel_name(DEFAULT_CHANNEL_TEMPLATE, date=day, number=number, title=title, labels={})

    assert SLACK_CHANNEL_NAME.fullmatch(name)
    assert name.startswith(f"inc-{day:%Y%m%d}-{number}")


@settings(max_examples=150, deadline=None)
@given(label_text)
@example("{{ 7 * 7 }}")
@example("{% for x in range(99) %}x{% endfor %}")
def test_label_values_are_shown_as_written_never_run_as_templates(value: str) -> None:
    title = render_title(DEFAULT_TITLE_TEMPLATE, {"alertname": value}, {})

    written = " ".join(value.split()) or UNTITLED
    assert title == (written if len(written) <= TITLE_MAX else written[:TITLE_MAX - 1].rstrip() + "…")
