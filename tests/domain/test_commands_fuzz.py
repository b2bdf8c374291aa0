"""Whatever is typed after /incident, parse_command gives a command or a one-line error
that says what to type; never another exception."""

from __future__ import annotations

import re
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.commands import (
    STATUSES,
    USAGE,
    AssignRole,
    CommandError,
    Declare,
    SetCommander,
    SetSeverity,
    SetStatus,
    Silence,
    parse_command,
)

severity_names = st.lists(st.from_regex(r"[a-z0-9][a-z0-9_-]{0,8}", fullmatch=True), min_size=1, max_size=4,
                          unique=True)
words = st.one_of(
    st.sampled_from(["sev1", "SEV2", "off", "2h", "0s", "8d", "99999999999999999999w", "1h30m", "-5m", "monitoring",
                     "<@U0123ABC>", "<@W1|bob>", "<@u1>", "<@U1", "<#C123|general>", "<!channel>", "&lt;b&gt;",
                     "comms", "Comms-Lead_2", "a" * 40, "`", "*bold*"]),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=12),
)
typed = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=80),
    st.tuples(st.sampled_from([*USAGE, "DECLARE", "Silence", "nope"]), st.lists(words, max_size=5),
              st.sampled_from([" ", "  ", "\t", "\n", "\u00a0", "\u3000"]))
    .map(lambda parts: parts[2].join([parts[0], *parts[1]])),
)
MENTIONED = re.compile(r"[UW][A-Z0-9]+")


@settings(max_examples=300, deadline=None)
@given(typed, severity_names)
def test_any_text_gives_a_command_or_one_line_saying_what_to_type(text: str, severities: list[str]) -> None:
    try:
        command = parse_command(text, severities)
    except CommandError as exc:
        message = str(exc)
        assert message and "\n" not in message
        assert re.search(r"Type `/incident [^`\n]+`", message), message
        return
    if isinstance(command, Declare):
        assert command.title.strip() and len(command.title) <= 150
        assert command.severity is None or command.severity in severities
    elif isinstance(command, SetSeverity):
        assert command.severity in severities
    elif isinstance(command, SetStatus):
        assert command.status in STATUSES
    elif isinstance(command, (SetCommander, AssignRole)):
        assert MENTIONED.fullmatch(command.user)
    elif isinstance(command, Silence):
        assert command.duration is None or timedelta(0) < command.duration <= timedelta(days=7)
