from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import pytest

from bot.domain.links import Link, render_links, render_trace_link
from bot.domain.naming import channel_name, render_title
from bot.playbook import LinkTemplate, Route, SeverityRule
from bot.playbook.templates import compile_template, slugify

DEFAULT_CHANNEL = "inc-{{ date }}-{{ number }}-{{ slug }}"
SLACK_NAME = re.compile(r"[a-z0-9_-]{1,80}")


@dataclass
class Alert:
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    generator_url: str | None = None


def route(*links: LinkTemplate, trace_url: str | None = None) -> Route:
    return Route(name="r", severity=SeverityRule(default="sev1"), links=links, trace_url=trace_url)


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("HighErrorRate in checkout", "high-error-rate-in-checkout"),
        ("HTTPServerDown", "http-server-down"),
        ("KubePodCrashLooping", "kube-pod-crash-looping"),
        ("disk 95% full!!", "disk-95-full"),
        ("Café überlastet", "cafe-uberlastet"),
        ("  --Already-Slugged--  ", "already-slugged"),
        ("Node5xxErrors", "node5xx-errors"),
        ("", ""),
    ],
)
def test_slugify_splits_camel_case_and_keeps_ascii_words(text: str, slug: str) -> None:
    assert slugify(text) == slug


def test_compile_template_reports_syntax_errors() -> None:
    with pytest.raises(ValueError, match=r"invalid template: unexpected '}' \(template line 1\)"):
        compile_template("{{ labels.x }")


def test_channel_name_uses_date_number_and_slug() -> None:
    name = channel_name(
        DEFAULT_CHANNEL,
        date=date(2026, 3, 29),
        number=42,
        title="HighErrorRate in checkout",
        labels={},
    )
    assert name == "inc-20260329-42-high-error-rate-in-checkout"


def test_channel_name_is_sanitized_for_slack() -> None:
    name = channel_name(
        "--INC {{ labels.team }}/{{ number }}: {{ title }}--",
        date=date(2026, 1, 1),
        number=7,
        title="Disk Full!",
        labels={"team": "Payments EU"},
    )
    assert name == "inc-payments-eu-7-disk-full"


def test_long_channel_name_is_truncated_in_the_slug_never_the_number() -> None:
    title = "VeryLongAlertName " * 10
    name = channel_name(
        DEFAULT_CHANNEL, date=date(2026, 3, 29), number=123456, title=title, labels={}
    )
    assert len(name) <= 80
    assert name.startswith("inc-20260329-123456-very-long-alert-name-")
    assert SLACK_NAME.fullmatch(name) and not name.endswith("-")


def test_channel_name_falls_back_when_the_template_renders_nothing() -> None:
    name = channel_name(
        "{{ labels.missing }}", date=date(2026, 1, 1), number=9, title="", labels={}
    )
    assert name == "inc-9"


def test_channel_name_falls_back_when_the_number_cannot_fit() -> None:
    name = channel_name(
        "x" * 90 + "-{{ number }}", date=date(2026, 1, 1), number=9, title="t", labels={}
    )
    assert name == "inc-9"


def test_render_title_is_one_line_and_capped() -> None:
    title = render_title(
        "{{ annotations.summary }}", {}, {"summary": "Errors\nare   high " + "x" * 200}
    )
    assert title.startswith("Errors are high x")
    assert len(title) == 150 and title.endswith("…")


def test_render_title_falls_back_to_alertname_then_untitled() -> None:
    assert render_title("{{ labels.nothing }}", {"alertname": "DiskFull"}, {}) == "DiskFull"
    assert render_title("{{ labels.nothing }}", {}, {}) == "Untitled incident"


def test_render_title_default_template_mentions_service() -> None:
    template = Route(name="r", severity=SeverityRule(default="s")).title
    assert (
        render_title(template, {"alertname": "HighErrorRate", "service": "checkout"}, {})
        == "HighErrorRate in checkout"
    )
    assert render_title(template, {"alertname": "HighErrorRate"}, {}) == "HighErrorRate"


def test_links_include_runbook_templates_and_generator_url_deduplicated_in_order() -> None:
    dashboard = LinkTemplate(
        title="Dashboard {{ labels.service }}",
        url="https://grafana.example.com/d/{{ labels.service }}",
        kind="dashboard",
    )
    logs = LinkTemplate(
        title="Logs",
        url="{% if labels.pod %}https://logs.example.com/?pod={{ labels.pod }}{% endif %}",
        kind="logs",
    )
    alerts = [
        Alert(
            {"service": "checkout"},
            {"runbook_url": "https://runbooks.example.com/high-errors"},
            "http://prometheus:9090/graph?g0.expr=a",
        ),
        Alert(
            {"service": "checkout"},
            {"runbook_url": "https://runbooks.example.com/high-errors"},
            "http://prometheus:9090/graph?g0.expr=b",
        ),
    ]
    assert render_links(route(dashboard, logs), alerts) == [
        Link("Runbook", "https://runbooks.example.com/high-errors", "runbook"),
        Link("Dashboard checkout", "https://grafana.example.com/d/checkout", "dashboard"),
        Link("Prometheus query", "http://prometheus:9090/graph?g0.expr=a", "prometheus"),
        Link("Prometheus query", "http://prometheus:9090/graph?g0.expr=b", "prometheus"),
    ]


def test_link_templates_see_annotations_and_the_alert() -> None:
    link = LinkTemplate(
        title="{{ alert.labels.job }}",
        url="https://x.example.com/{{ annotations.id }}{{ alert.generator_url | length }}",
    )
    alert = Alert({"job": "api"}, {"id": "7"}, "https://p.example.com/q")
    assert render_links(route(link), [alert])[0] == Link("api", "https://x.example.com/723", "link")


def test_non_http_urls_are_dropped() -> None:
    link = LinkTemplate(title="Evil", url="javascript:alert(1)")
    alerts = [
        Alert({}, {"runbook_url": "javascript:alert(document.cookie)"}, "ftp://prometheus/graph")
    ]
    alerts.append(Alert({}, {"runbook_url": "/relative/runbook"}, "https://ok.example.com/graph"))
    assert render_links(route(link), alerts) == [
        Link("Prometheus query", "https://ok.example.com/graph", "prometheus")
    ]


def test_sandbox_blocks_internal_attribute_access_without_crashing() -> None:
    leak = LinkTemplate(title="x", url="https://x.example.com/{{ ''.__class__.__mro__ }}")
    call = LinkTemplate(
        title="x", url="https://y.example.com/{{ ''.__class__.__mro__[1].__subclasses__() }}"
    )
    mutate = LinkTemplate(title="x", url="https://z.example.com/{{ labels.update({'a': 'b'}) }}")
    links = render_links(route(leak, call, mutate), [Alert({"a": "1"})])
    assert all("class" not in link.url and "object" not in link.url for link in links)
    assert [link.url for link in links] == ["https://x.example.com/"]


def test_title_render_error_falls_back_instead_of_raising() -> None:
    assert (
        render_title("{{ ''.__class__.__mro__[1].__subclasses__() }}", {"alertname": "A"}, {})
        == "A"
    )


def test_trace_link_renders_the_trace_id() -> None:
    r = route(trace_url="https://tempo.example.com/trace/{{ trace_id }}")
    assert render_trace_link(r, "abc123") == Link(
        "Trace abc123", "https://tempo.example.com/trace/abc123", "traces"
    )
    assert render_trace_link(route(), "abc123") is None
