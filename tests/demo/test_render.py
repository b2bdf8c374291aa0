from __future__ import annotations

import io
from datetime import UTC, datetime

from bot.demo.transcript import Transcript


def test_transcript_is_plain_for_a_pipe_and_coloured_for_a_terminal() -> None:
    moment = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    plain, rich = io.StringIO(), io.StringIO()
    Transcript(plain, lambda: moment, rich=False).message("inc-1", [":rotating_light: hello"])
    Transcript(rich, lambda: moment, rich=True).message("inc-1", [":rotating_light: hello"])
    assert plain.getvalue() == "[T+00:00] #inc-1 · incident-bot\n           │ :rotating_light: hello\n"
    assert "\033[" in rich.getvalue() and "🚨 hello" in rich.getvalue()
