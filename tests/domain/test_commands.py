"""Parsing /incident text: commands, mentions, and one-line errors that say what to type."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.commands import (
    AddNote,
    AssignRole,
    CommandError,
    Declare,
    Help,
    ListIncidents,
    PostUpdate,
    Resolve,
    SetCommander,
    SetSeverity,
    SetStatus,
    Silence,
    help_text,
    parse_command,
)

SEVERITIES = ("sev1", "sev2", "sev3")


@pytest.mark.parametrize(("text", "command"), [
    ("", Help()),
    ("help", Help()),
    ("LIST", ListIncidents()),
    ("declare Checkout is down sev1", Declare("Checkout is down", "sev1")),
    ("declare Checkout is down", Declare("Checkout is down", None)),
    ("severity sev2 customers recovering", SetSeverity("sev2", "customers recovering")),
    ("commander <@U0123ABC|alice>", SetCommander("U0123ABC")),
    ("commander <@W0123ABC>", SetCommander("W0123ABC")),
    ("role comms <@UBOB>", AssignRole("comms", "UBOB")),
    ("status Monitoring", SetStatus("monitoring")),
    ("update Rolled back the deploy", PostUpdate("Rolled back the deploy")),
    ("note saw <https://x|this> graph", AddNote("saw <https://x|this> graph")),
    ("resolve", Resolve("")),
    ("resolve bad config pushed", Resolve("bad config pushed")),
    ("silence 2h flapping disk", Silence(timedelta(hours=2), "flapping disk")),
    ("silence off", Silence(None, "")),
])
def test_commands_parse(text: str, command: object) -> None:
    assert parse_command(text, SEVERITIES) == command


@pytest.mark.parametrize(("text", "error"), [
    ("severity sev9", "`sev9` is not a severity here. Type `/incident severity &lt;sev1|sev2|sev3&gt; [reason]`."),
    ("commander nobody", "Mention exactly one person with @. Type `/incident commander &lt;@user&gt;`."),
    ("status done", "Say one of the four statuses. Type `/incident status &lt;investigating|identified|monitoring|resolved&gt;`."),
    ("declare", "Give the incident a title. Type `/incident declare &lt;title&gt; [severity]`."),
    ("declare sev1", "Give the incident a title. Type `/incident declare &lt;title&gt; [severity]`."),
    ("update", "Write the text after the word. Type `/incident update &lt;text&gt;`."),
    ("silence forever", "`forever` is not a duration. Type `/incident silence &lt;duration, e.g. 2h&gt;|off [comment]`."),
    ("silence 30d", "Silence for more than 0 and at most 7d. Type `/incident silence &lt;duration, e.g. 2h&gt;|off [comment]`."),
    ("role <@UBOB>", "Give a role name (letters, digits, - or _) and mention one person with @. "
                     "Type `/incident role &lt;name&gt; &lt;@user&gt;`."),
    ("frobnicate now", "Unknown subcommand `frobnicate`. Type `/incident help` to see what it can do."),
])
def test_bad_input_gets_one_line_saying_what_to_type(text: str, error: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(text, SEVERITIES)
    assert str(caught.value) == error


def test_help_lists_every_subcommand_with_the_configured_command_name() -> None:
    text = help_text("/inc", SEVERITIES)
    for sub in ("declare", "list", "severity", "commander", "role", "status", "update", "note", "resolve",
                "reopen", "silence", "timeline", "postmortem"):
        assert f"`/inc {sub}" in text
