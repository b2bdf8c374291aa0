"""``incident-bot simulate``: what the bot would decide for a payload, with no side effects.

The group is treated as new (nothing stored about it), the decision code is the same
that serves the webhook, and nothing is written anywhere.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bot.cli.simulate_workflows import opened_workflows
from bot.clock import utcnow
from bot.domain.decide import GroupState, Outcome, decide
from bot.domain.links import render_links
from bot.domain.naming import channel_name, render_title
from bot.domain.notification import AlertGroupNotification, PayloadError, parse_webhook
from bot.playbook import PlaybookError, load_playbooks
from bot.settings import Settings

# The real number is the incident's id, assigned when it is stored.
PLACEHOLDER_NUMBER = 1


def explain(notification: AlertGroupNotification, settings: Settings) -> dict[str, Any]:
    playbooks = load_playbooks(settings.playbooks_dir)
    now = utcnow()
    decision = decide(notification, GroupState(), playbooks, now)
    match = decision.route
    result: dict[str, Any] = {
        "group_key": notification.group_key,
        "route": f"{match.playbook.name}/{match.route.name}" if match else None,
        "decision": decision.outcome.value,
        "reason": decision.reason,
        "severity": decision.severity,
        "commander": decision.commander,
        "commander_source": decision.commander_source,
        "firing_alerts": len(notification.firing),
        "channel": None,
        "title": None,
        "links": [],
        "workflows": [],
    }
    if match is not None:
        labels = notification.common_labels or notification.group_labels
        title = render_title(match.route.title, labels, notification.common_annotations)
        result["title"] = title
        result["channel"] = channel_name(match.route.channel, date=now.date(), number=PLACEHOLDER_NUMBER,
                                         title=title, labels=labels)
        result["links"] = [{"kind": link.kind, "title": link.title, "url": link.url}
                           for link in render_links(match.route, notification.alerts)]
        if decision.outcome is Outcome.OPEN and decision.severity is not None:
            result["workflows"] = opened_workflows(
                match.playbook, number=PLACEHOLDER_NUMBER, title=title, severity=decision.severity,
                route=match.route.name, commander=decision.commander, labels=labels, now=now)
    return result


def simulate(payload: Path, settings: Settings, as_json: bool = False) -> int:
    try:
        body = sys.stdin.buffer.read() if str(payload) == "-" else payload.read_bytes()
    except OSError as exc:
        print(f"cannot read {payload}: {exc.strerror}", file=sys.stderr)
        return 1
    try:
        result = explain(parse_webhook(body), settings)
    except PayloadError as exc:
        print(f"{payload}: {exc}", file=sys.stderr)
        return 1
    except PlaybookError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"route:      {result['route'] or 'none (no route matches; the group would only be recorded)'}")
    print(f"decision:   {result['decision']} ({result['reason']})")
    print(f"severity:   {result['severity'] or '-'}")
    commander = result["commander"]
    print(f"commander:  {commander + ' (' + result['commander_source'] + ')' if commander else '-'}")
    print(f"title:      {result['title'] or '-'}")
    channel = result["channel"]
    print(f"channel:    {channel + f'  (number {PLACEHOLDER_NUMBER} stands for the incident number)' if channel else '-'}")
    print(f"alerts:     {result['firing_alerts']} firing of {len(json.loads(body)['alerts'])}")
    print("links:" if result["links"] else "links:      -")
    for link in result["links"]:
        print(f"  [{link['kind']}] {link['title']}: {link['url']}")
    print("workflows:" if result["workflows"] else "workflows:  -")
    for action in result["workflows"]:
        print(f"  [{action['workflow']}] {action['sends']}")
    return 0
