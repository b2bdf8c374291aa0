"""The demo's transcript: what happens, stamped with the demo clock's time since the start.

Colour and emoji on a terminal; plain text otherwise (a pipe, a file, CI), or with NO_COLOR.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from bot.slack.mrkdwn_text import emojify

_RESET, _BOLD, _DIM = "\033[0m", "\033[1m", "\033[2m"
_CYAN, _GREEN, _YELLOW, _RED, _MAGENTA = "\033[36m", "\033[32m", "\033[33m", "\033[31m", "\033[35m"


class Transcript:
    def __init__(self, out: TextIO, clock: Callable[[], datetime], *, rich: bool | None = None) -> None:
        self._out = out
        self._clock = clock
        self._start = clock()
        self.rich = _is_terminal(out) if rich is None else rich
        self.problems: list[str] = []

    # -- what the demo does ----------------------------------------------------------

    def heading(self, text: str) -> None:
        self._write(f"\n{self._style(text, _BOLD)}", stamp=False)

    def step(self, text: str) -> None:
        self._line(self._style(f"▶ {text}", _BOLD + _CYAN))

    def person(self, name: str, text: str) -> None:
        self._line(f"{self._style('@' + name, _BOLD + _MAGENTA)} {text}")

    def ephemeral(self, name: str, text: str) -> None:
        self._block(f"(only @{name} sees this)", text.splitlines(), _DIM)

    def skip(self, text: str) -> None:
        self._line(self._style(f"⏩ {text}", _YELLOW))

    def aside(self, text: str) -> None:
        self._write(self._style(f"           ({text})", _DIM), stamp=False)

    def note(self, text: str) -> None:
        self._write(text, stamp=False)

    def problem(self, text: str) -> None:
        self.problems.append(text)
        self._line(self._style(f"✖ {text}", _BOLD + _RED))

    # -- what Slack shows ----------------------------------------------------------------

    def channel_created(self, channel: str) -> None:
        self._line(self._style(f"#{channel} created", _GREEN))

    def joined(self, channel: str, names: list[str]) -> None:
        self._line(f"#{channel}: {', '.join('@' + n for n in names)} joined")

    def topic(self, channel: str, topic: str) -> None:
        self._line(f"#{channel}: topic set to “{topic}”")

    def message(self, channel: str, lines: list[str], *, edited: bool = False) -> None:
        label = f"#{channel} · incident-bot" + (" (edited)" if edited else "")
        self._block(label, lines, _GREEN)

    def pinned(self, channel: str) -> None:
        self._line(f"#{channel}: 📌 message pinned" if self.rich else f"#{channel}: message pinned")

    def bookmarked(self, channel: str, title: str, link: str) -> None:
        self._line(f"#{channel}: bookmark “{title}” → {link}")

    def file_shared(self, channel: str, name: str, comment: str, size: int) -> None:
        self._line(f"#{channel}: file {name} shared ({size} bytes): {comment}")

    def archived(self, channel: str) -> None:
        self._line(f"#{channel} archived")

    # -- output --------------------------------------------------------------------------

    def _stamp(self) -> str:
        seconds = int((self._clock() - self._start).total_seconds())
        return f"[T+{seconds // 60:02d}:{seconds % 60:02d}]"

    def _line(self, text: str) -> None:
        self._write(text, stamp=True)

    def _block(self, label: str, lines: list[str], colour: str) -> None:
        self._line(self._style(label, colour))
        for line in lines:
            self._write(f"           │ {line}", stamp=False)

    def _write(self, text: str, *, stamp: bool) -> None:
        if self.rich:
            text = emojify(text)
        prefix = f"{self._style(self._stamp(), _DIM)} " if stamp else ""
        self._out.write(prefix + text + "\n")
        self._out.flush()

    def _style(self, text: str, codes: str) -> str:
        return f"{codes}{text}{_RESET}" if self.rich else text


def _is_terminal(out: TextIO) -> bool:
    return "NO_COLOR" not in os.environ and hasattr(out, "isatty") and out.isatty()
