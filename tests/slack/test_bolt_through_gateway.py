"""Bolt's listeners call Slack through the bot's gateway: modals are paced, counted in
/metrics by method and outcome, retried once when Slack fails transiently, and a trigger
Slack refuses is explained to the person instead of failing silently."""

from __future__ import annotations

import httpx

from tests.slack_emulator import SlackEmulator

DECLARE_FALLBACK = "Try again, or use `/incident declare &lt;title&gt; [severity]`."


async def slack_calls(bot: str, method: str) -> dict[str, float]:
    """This bot's Slack call counts for ``method``, by outcome, from its /metrics."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{bot}/metrics")).text
    prefix = f'incident_bot_slack_api_calls_total{{method="{method}",outcome="'
    return {line[len(prefix):].split('"', 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line.startswith(prefix)}


async def declare(slack: SlackEmulator, bot: str, **extra: str) -> str:
    response = await slack.slash_command(f"{bot}/slack/events", text="declare", user_id="UBOB", **extra)
    assert response.status_code == 200, response.text
    return str((response.json() if response.content else {}).get("text", ""))


async def test_the_declare_modal_opens_through_the_gateway_and_shows_in_its_metrics(
        slack_bot: str, slack: SlackEmulator) -> None:
    assert await slack_calls(slack_bot, "views.open") == {}
    assert await declare(slack, slack_bot) == ""
    [view] = slack.views
    assert view["callback_id"] == "incident_declare"
    assert await slack_calls(slack_bot, "views.open") == {"ok": 1.0}


async def test_a_transient_failure_is_retried_once_then_explained(slack_bot: str, slack: SlackEmulator) -> None:
    slack.faults.fail_next("views.open", status=500, count=1)
    assert await declare(slack, slack_bot) == ""
    assert len(slack.views) == 1
    assert await slack_calls(slack_bot, "views.open") == {"server_error": 1.0, "ok": 1.0}

    slack.faults.fail_next("views.open", status=500, count=2)
    reply = await declare(slack, slack_bot)
    assert reply == f"Slack did not open the declare form (HTTP 500). {DECLARE_FALLBACK}"
    assert len(slack.views) == 1
    assert await slack_calls(slack_bot, "views.open") == {"server_error": 3.0, "ok": 1.0}


async def test_a_trigger_used_twice_is_refused_by_slack_and_not_retried(slack_bot: str, slack: SlackEmulator) -> None:
    trigger = slack.new_trigger_id()
    assert await declare(slack, slack_bot, trigger_id=trigger) == ""
    reply = await declare(slack, slack_bot, trigger_id=trigger)
    assert reply == f"Slack did not open the declare form (exchanged_trigger_id). {DECLARE_FALLBACK}"
    assert await declare(slack, slack_bot, trigger_id="1.2.3") == \
        f"Slack did not open the declare form (invalid_trigger_id). {DECLARE_FALLBACK}"
    assert len(slack.views) == 1
    assert await slack_calls(slack_bot, "views.open") == {"ok": 1.0, "error": 2.0}
