"""A postmortem's Markdown cut into the parts its editor shows: the head (the title and what
comes before the first ``## `` heading) and one section per ``## `` heading, and put back
together. Pure.

Joining the parts of a split gives the text back exactly: every section is its heading
line, a line break, then its body as written, so nothing is trimmed or added. (The one
text that does not come back is one ending in a heading with no line break after it; the
joined text ends that heading with one.) A ``## `` line inside a fenced code block is
code, not a heading.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Section", "Sections", "join_sections", "split_sections"]

HEADING = "## "
_FENCES = ("```", "~~~")


@dataclass(frozen=True, slots=True)
class Section:
    heading: str  # the heading's line without its line break, "## " included
    body: str  # everything after that line up to the next heading

    @property
    def title(self) -> str:
        return self.heading[len(HEADING):].strip()


@dataclass(frozen=True, slots=True)
class Sections:
    head: str
    sections: tuple[Section, ...]

    @property
    def text(self) -> str:
        return join_sections(self.head, self.sections)


def _fence(line: str) -> str | None:
    """The fence a line opens or closes (up to three spaces of indent), if it is one."""
    stripped = line.lstrip(" ")
    if len(line) - len(stripped) > 3:
        return None
    return next((f for f in _FENCES if stripped.startswith(f)), None)


def _lines(text: str) -> list[str]:
    """The lines with their ``\n`` (only that ends a line here; ``\r`` stays in it)."""
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def split_sections(text: str) -> Sections:
    head: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    fence: str | None = None
    for line in _lines(text):
        marker = _fence(line)
        if fence is None and marker is not None:
            fence = marker
        elif fence is not None and marker == fence:
            fence = None
        elif fence is None and line.startswith(HEADING):
            sections.append((line.removesuffix("\n"), []))
            continue
        (sections[-1][1] if sections else head).append(line)
    return Sections("".join(head), tuple(Section(heading, "".join(body)) for heading, body in sections))


def join_sections(head: str, sections: Sequence[Section]) -> str:
    return head + "".join(f"{s.heading}\n{s.body}" for s in sections)
