"""Walking parsed JSON/YAML documents, for mutation-based fuzzing."""

from __future__ import annotations

from typing import Any

Location = tuple[Any, ...]  # keys and list indexes from the root


def locations(value: Any, prefix: Location = ()) -> list[Location]:
    """Every key and index in the document, parents before children."""
    found: list[Location] = []
    children: Any = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        found.append((*prefix, key))
        found.extend(locations(child, (*prefix, key)))
    return found
