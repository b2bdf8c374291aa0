"""Slack messages as plain text, for the demo's terminal and the web workspace: mrkdwn
entities resolved, blocks flattened. Pure."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_ENTITY = re.compile(r"<([^<>]*)>")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
EMOJI = {
    ":red_circle:": "🔴", ":large_orange_circle:": "🟠", ":large_yellow_circle:": "🟡", ":white_circle:": "⚪",
    ":rotating_light:": "🚨", ":alarm_clock:": "⏰", ":white_check_mark:": "✅", ":warning:": "⚠️",
    ":mute:": "🔇", ":mag:": "🔍", ":memo:": "📝", ":file_cabinet:": "🗄️", ":arrow_up:": "⬆️",
    ":arrow_down:": "⬇️", ":loudspeaker:": "📢", ":busts_in_silhouette:": "👥", ":pushpin:": "📌",
    ":bust_in_silhouette:": "👤", ":satellite_antenna:": "📡", ":tada:": "🎉", ":link:": "🔗",
}


def mrkdwn_to_text(text: str, name_of: Callable[[str], str]) -> str:
    """What a reader sees: ``<@U1>`` as @name, ``<url|label>`` as label (url), ``*bold*`` as
    plain words, entities unescaped."""

    def entity(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            return "@" + name_of(target[1:])
        if target.startswith("#"):
            return "#" + (label or name_of(target[1:]))
        if target.startswith("!date"):
            return label
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^")[0])
        return f"{label} ({target})" if label else target

    resolved = _BOLD.sub(r"\1", _ENTITY.sub(entity, text))
    return resolved.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def emojify(text: str) -> str:
    for code, glyph in EMOJI.items():
        text = text.replace(code, glyph)
    return text


def message_lines(text: str, blocks: list[dict[str, Any]] | None, name_of: Callable[[str], str]) -> list[str]:
    """The message as lines: its blocks when it has any (as Slack shows), else its text."""
    if not blocks:
        return mrkdwn_to_text(text, name_of).splitlines() or [""]
    lines: list[str] = []
    for block in blocks:
        lines.extend(_block_lines(block, name_of))
    return lines


def _block_lines(block: dict[str, Any], name_of: Callable[[str], str]) -> list[str]:
    kind = block.get("type")

    def text_of(obj: Any) -> str:
        if not isinstance(obj, dict):
            return ""
        raw = str(obj.get("text", ""))
        return mrkdwn_to_text(raw, name_of) if obj.get("type") == "mrkdwn" else raw

    if kind == "header":
        return [f"▌ {text_of(block.get('text'))}"]
    if kind == "section":
        lines = text_of(block.get("text")).splitlines() if block.get("text") else []
        fields = [text_of(f).replace("\n", ": ", 1) for f in block.get("fields") or []]
        if fields:
            lines.append("   ".join(fields))
        return lines
    if kind == "context":
        return ["  ".join(text_of(e) for e in block.get("elements") or [] if isinstance(e, dict))]
    if kind == "actions":
        return [" ".join(f"[{text_of(e.get('text'))}]" for e in block.get("elements") or [] if isinstance(e, dict))]
    if kind == "divider":
        return ["―" * 20]
    return []
