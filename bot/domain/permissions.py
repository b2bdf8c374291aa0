"""Who may do the privileged things, from the playbook's rules. Pure."""

from __future__ import annotations

from collections.abc import Collection


def allowed(rule: str, user: str, commander: str | None, responders: Collection[str]) -> bool:
    if rule == "anyone":
        return True
    if user == commander:
        return True
    return rule == "responders" and user in responders


def who_may(rule: str, commander: str | None) -> str:
    current = f" (<@{commander}>)" if commander else ""
    if rule == "commander":
        return f"the commander{current}"
    return f"the commander{current} or a responder"
