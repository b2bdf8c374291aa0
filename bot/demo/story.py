"""The demo's story: one checkout incident from first alert to postmortem draft."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.demo.world import DemoFailed, World

USERS = {"UALICE": "alice", "UBOB": "bob", "UCAROL": "carol"}
STAKEHOLDERS = "incidents"
GROUP = {"alertname": "CheckoutErrorRate", "service": "checkout"}
NEVER = "0001-01-01T00:00:00Z"


def alert(region: str, severity: str, ratio: str, starts_at: datetime, *, trace_id: str | None = None,
          ends_at: datetime | None = None) -> dict[str, Any]:
    labels = {**GROUP, "team": "checkout", "region": region, "severity": severity}
    annotations = {"summary": f"5xx ratio {ratio} on checkout in {region}",
                   "runbook_url": "https://runbooks.example.com/checkout/error-rate"}
    if trace_id:
        annotations["trace_id"] = trace_id
    return {
        "status": "resolved" if ends_at else "firing", "labels": labels, "annotations": annotations,
        "startsAt": _iso(starts_at), "endsAt": _iso(ends_at) if ends_at else NEVER,
        "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=checkout%3Aerror_ratio%3A5m+%3E+0.02",
        "fingerprint": hashlib.sha256(repr(sorted(labels.items())).encode()).hexdigest()[:16],
    }


def group(alerts: list[dict[str, Any]]) -> dict[str, Any]:
    """An Alertmanager v4 webhook body for the checkout group, as its receiver gets it."""
    common = dict(alerts[0]["labels"])
    for other in alerts[1:]:
        common = {k: v for k, v in common.items() if other["labels"].get(k) == v}
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "version": "4", "groupKey": '{}:{alertname="CheckoutErrorRate", service="checkout"}', "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved", "receiver": "incident-bot", "groupLabels": dict(GROUP),
        "commonLabels": common, "commonAnnotations": {}, "externalURL": "http://alertmanager.example.com:9093",
        "alerts": alerts,
    }


async def tell(world: World, directory: Path) -> Path:
    """Play the incident through; returns the path of the postmortem draft written."""
    say, clock = world.transcript, world.clock
    started = clock()

    say.step("Alertmanager sends a group: CheckoutErrorRate in checkout, 1 alert (severity=warning, eu-west-1)")
    first = alert("eu-west-1", "warning", "4.2%", started)
    incident_id = (await world.alertmanager_sends(group([first])))["incident"]
    if incident_id is None:
        raise DemoFailed("the group was only recorded: no incident channel was created (check the playbook's route)")
    commander = await world.commander_of(incident_id)
    channel = next((c for c in world.slack.channels.values() if c.name.startswith("inc-")), None)
    if channel is None:
        raise DemoFailed("the incident opened, but no incident channel was created")

    world.skip(2, "the error rate keeps climbing")
    say.step("Alertmanager sends the group again: a second alert joins (severity=critical, us-east-1, trace id)")
    second = alert("us-east-1", "critical", "12.8%", clock(), trace_id="4bf92f3577b34da6a3ce929d0e0e4736")
    await world.alertmanager_sends(group([first, second]))

    world.skip(1)
    await world.click(commander, "Acknowledge", channel)

    world.skip(3)
    await world.slash(commander, "note Errors started with checkout deploy v2.42.0; rolling it back", channel)
    await world.slash(commander, "status identified", channel)

    await world.skip_to_next_timer("the stakeholder update is due")
    await world.slash(commander, "update Rolled back checkout v2.42.0; the error rate is falling. "
                             "Next update in 30 minutes.", channel)

    world.skip(4, "the rollback has taken effect")
    say.step("Alertmanager sends the group resolved: both alerts are back under threshold")
    now = clock()
    await world.alertmanager_sends(group([{**alert("eu-west-1", "warning", "4.2%", started, ends_at=now)},
                                          alert("us-east-1", "critical", "12.8%", second_start(second), ends_at=now)]))

    world.skip(2)
    await world.slash(commander, "resolve Bad deploy v2.42.0 rolled back; error rate normal for 5 minutes", channel)
    helper = next(u for u in world.slack.users if u != commander)
    await world.slash(commander, f"followup Add a canary stage to checkout deploys <@{helper}> due 7d", channel)
    await world.slash(commander, "postmortem", channel)

    name = f"incident-{incident_id}-postmortem.md"
    content = world.slack.uploaded(name)
    if content is None:
        raise DemoFailed(f"the bot did not share {name} in #{channel.name}")
    path = directory / name
    path.write_bytes(content)
    return path


def second_start(second: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(second["startsAt"].replace("Z", "+00:00"))


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
