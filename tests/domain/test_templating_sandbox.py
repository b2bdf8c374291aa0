"""Playbook templates run in Jinja2's immutable sandbox: the classic escapes load (their
syntax is fine) but render nothing of Python's internals, run nothing and change nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.domain.links import render_links, render_trace_link
from bot.domain.naming import channel_name, render_title
from bot.playbook import load_playbooks

ESCAPES = [
    "{{ cycler.__init__.__globals__.os.popen('touch MARKER').read() }}",
    "{{ lipsum.__globals__['os'].popen('touch MARKER').read() }}",
    "{{ joiner.__init__.__globals__.os.system('touch MARKER') }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ self.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ [].__class__.__base__.__subclasses__() }}",
    "{{ '{0.__class__.__mro__}'.format(labels) }}",
    "{{ '%s'|format(labels.__class__) }}",
    "{{ labels|attr('__class__') }}",
    "{{ ()|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
    "{{ labels.pop('alertname') ~ 'MUTATED' }}",
    "{% set _ = labels.update({'alertname': 'MUTATED'}) %}{{ labels.alertname }}",
    "{% set _ = annotations.update({'summary': 'MUTATED'}) %}{{ annotations.summary }}",
]
# What would show that a template reached Python's internals or changed its arguments.
LEAKS = ("MUTATED", "__", "<class", "<function", "<module", "<built-in", "<bound", "globals", "TemplateReference",
         "subclasses")


@dataclass
class Alert:
    labels: dict[str, str] = field(default_factory=lambda: {"alertname": "DiskFull", "team": "storage"})
    annotations: dict[str, str] = field(default_factory=lambda: {"summary": "disk full"})
    generator_url: str | None = None


def playbook_using(template: str, directory: Path) -> Path:
    route = {"name": "r", "severity": {"default": "sev1"}, "title": template, "channel": template,
             "links": [{"title": template, "url": "https://x.example.com/" + template}],
             "trace_url": "https://t.example.com/" + template}
    playbook = {"name": "p", "severities": [{"name": "sev1", "description": "d", "update_every": "1h",
                                              "ack_timeout": "5m"}], "routes": [route]}
    (directory / "p.yml").write_text(yaml.safe_dump(playbook))
    return directory


@pytest.mark.parametrize("escape", ESCAPES)
def test_sandbox_escapes_load_but_render_no_internals_run_nothing_and_change_nothing(
        escape: str, tmp_path: Path) -> None:
    marker = tmp_path / "escaped"
    template = escape.replace("MARKER", str(marker))
    [route] = load_playbooks(playbook_using(template, tmp_path)).routes  # the syntax is valid Jinja
    alert = Alert()

    title = render_title(route.route.title, alert.labels, alert.annotations)
    name = channel_name(route.route.channel, date=date(2026, 1, 1), number=5, title=title, labels=alert.labels)
    links = render_links(route.route, [alert])
    trace = render_trace_link(route.route, "abc123", alert.labels)

    rendered = [title, name, *(link.title for link in links), *(link.url for link in links)]
    rendered += [trace.url] if trace is not None else []
    assert not [text for text in rendered if any(leak in text for leak in LEAKS)], rendered
    assert not marker.exists()  # no command ran
